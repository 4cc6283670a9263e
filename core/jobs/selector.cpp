#include "jobs/selector.h"

#include "common/error.h"

namespace ranklab::jobs {

Selector parseSelector(const std::string& name) {
  if (name == "uniform") return Selector::Uniform;
  if (name == "energy") return Selector::Energy;
  if (name == "manual") return Selector::Manual;
  if (name == "sensitivity") return Selector::Sensitivity;
  if (name == "ars") return Selector::Ars;
  if (name == "rankdyna") return Selector::RankDyna;
  throw Error("unknown rank selector '" + name +
              "' (expected uniform, energy, manual, sensitivity, ars or rankdyna)");
}

std::string selectorName(Selector selector) {
  switch (selector) {
    case Selector::Uniform:
      return "uniform";
    case Selector::Energy:
      return "energy";
    case Selector::Manual:
      return "manual";
    case Selector::Sensitivity:
      return "sensitivity";
    case Selector::Ars:
      return "ars";
    case Selector::RankDyna:
      return "rankdyna";
  }
  return "uniform";
}

bool ranksKnownUpFront(Selector selector) {
  return selector == Selector::Uniform || selector == Selector::Manual;
}

bool needsCalibration(Selector selector) {
  return selector == Selector::Sensitivity || selector == Selector::Ars;
}

bool trainsThroughModel(Selector selector) {
  return selector == Selector::Ars || selector == Selector::RankDyna;
}

}  // namespace ranklab::jobs
