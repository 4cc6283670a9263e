// Multiple-choice readers: each public dataset's field layout (hand-written fixtures in
// tests/data/choices, a few items each, following the datasets' published schemas) becomes the
// requests lm-evaluation-harness scores; malformed input is an error naming the file, line and key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "data/choices.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

fs::path fixture(const std::string& name) { return fs::path(RANKLAB_TEST_DATA_DIR) / "choices" / name; }

// Every request of a shared-context item: the context, and " " + the choice.
void expectShared(const data::ChoiceItem& item, const std::string& context,
                  const std::vector<std::string>& choices, int64_t gold) {
  EXPECT_EQ(item.choices, choices);
  ASSERT_EQ(item.contexts.size(), choices.size());
  for (size_t i = 0; i < choices.size(); ++i) {
    EXPECT_EQ(item.contexts[i], context);
    EXPECT_EQ(item.continuations[i], " " + choices[i]);
  }
  EXPECT_EQ(item.gold, gold);
}

std::string errorOf(const fs::path& file, const std::string& format = "") {
  try {
    data::readChoices(file, format);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

class ChoicesFile : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("ranklab-choices-" + std::to_string(::getpid()));
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(m_dir / name) << text;
    return m_dir / name;
  }
  fs::path m_dir;
};

}  // namespace

TEST(Choices, RanklabItemsKeepTheirTaskAndSkipBlankLines) {
  const auto set = data::readChoices(fixture("ranklab.jsonl"));
  EXPECT_EQ(set.format, "ranklab");
  ASSERT_EQ(set.items.size(), 2u);
  expectShared(set.items[0], "The cat sat on the", {"mat.", "moon."}, 0);
  EXPECT_EQ(set.items[0].task, "toy");
  EXPECT_EQ(set.items[1].task, "");
  EXPECT_EQ(set.items[1].line, 3);  // line 2 is blank
  EXPECT_EQ(data::codePoints(set.items[1].choices[2]), 5) << "caf\u00e9. is five characters, six bytes";
}

TEST(Choices, HellaSwagIsPreprocessedAsTheHarnessDoes) {
  const auto set = data::readChoices(fixture("hellaswag.jsonl"));
  EXPECT_EQ(set.format, "hellaswag");
  ASSERT_EQ(set.items.size(), 2u);
  // activity_label + ": " + ctx_a + " " + ctx_b capitalised (the rest lower case); " [title]" -> ". ",
  // bracketed artefacts removed, double spaces collapsed, endings stripped.
  expectShared(
      set.items[0], "Making tea: A woman fills a kettle. with water. She puts it on the stove",
      {"and paints the wall blue.", "and walks the dog.", "and waits for it to boil.", "and sings a song."},
      2);
  expectShared(set.items[1], "Washing hands: A boy turns on the tap. He",
               {"rubs soap on his hands.", "drives a car.", "climbs a tree."}, 0);
  EXPECT_EQ(set.items[1].task, "hellaswag");
}

TEST(Choices, PiqaTakesItsLabelsFromTheFileBesideIt) {
  const auto set = data::readChoices(fixture("piqa-valid.jsonl"));
  EXPECT_EQ(set.format, "piqa");
  ASSERT_EQ(set.items.size(), 2u);
  expectShared(set.items[0], "Question: To keep bread fresh for longer,\nAnswer:",
               {"store it in a sealed bag.", "leave it in the sun."}, 0);
  EXPECT_EQ(set.items[1].gold, 1);
}

TEST(Choices, ArcReadsBothLayoutsAndNumericLabels) {
  const auto set = data::readChoices(fixture("arc.jsonl"));
  EXPECT_EQ(set.format, "arc");
  ASSERT_EQ(set.items.size(), 2u);
  expectShared(set.items[0], "Question: Which of these is a source of light?\nAnswer:",
               {"a rock", "the Sun", "a shadow", "a puddle"}, 1);
  expectShared(set.items[1],
               "Question: What do plants need to make food?\nAnswer:", {"sunlight", "sand", "plastic"}, 0);
  const auto hf = data::readChoices(fixture("arc-hf.jsonl"));
  EXPECT_EQ(hf.format, "arc");
  expectShared(hf.items[0], "Question: Water freezes at what temperature in degrees Celsius?\nAnswer:",
               {"100", "0", "50", "-40"}, 1);
  // The same file read as OpenBookQA: the question alone is the context.
  const auto asObqa = data::readChoices(fixture("arc.jsonl"), "openbookqa");
  EXPECT_EQ(asObqa.items[0].contexts[0], "Which of these is a source of light?");
}

TEST(Choices, OpenBookQaIsDetectedInBothLayouts) {
  const auto set = data::readChoices(fixture("openbookqa.jsonl"));
  EXPECT_EQ(set.format, "openbookqa");
  expectShared(set.items[0], "A magnet will stick to",
               {"a wooden spoon", "a glass cup", "an iron nail", "a paper towel"}, 2);
  const auto hf = data::readChoices(fixture("openbookqa-hf.jsonl"));
  EXPECT_EQ(hf.format, "openbookqa");
  expectShared(hf.items[0], "Ice melts when it is", {"heated", "cooled", "painted", "counted"}, 0);  // " A"
}

TEST(Choices, WinoGrandeScoresTheRestOfTheSentenceAfterEachOption) {
  const auto set = data::readChoices(fixture("winogrande.jsonl"));
  EXPECT_EQ(set.format, "winogrande");
  ASSERT_EQ(set.items.size(), 2u);
  const auto& item = set.items[0];
  EXPECT_THAT(item.contexts, ElementsAre("The trophy did not fit in the suitcase because the trophy",
                                         "The trophy did not fit in the suitcase because the suitcase"));
  EXPECT_THAT(item.continuations, ElementsAre(" was too big.", " was too big."));
  EXPECT_EQ(item.choices, item.contexts);
  EXPECT_EQ(item.gold, 0);
  EXPECT_EQ(set.items[1].gold, 1);
  EXPECT_EQ(set.items[1].contexts[1], "Anna gave Maria a book because Maria");
}

TEST(Choices, BoolQAsksNoOrYes) {
  const auto set = data::readChoices(fixture("boolq.jsonl"));
  EXPECT_EQ(set.format, "boolq");
  expectShared(
      set.items[0],
      "The Sun is the star at the centre of the Solar System.\nQuestion: is the sun a star?\nAnswer:",
      {"no", "yes"}, 1);
  EXPECT_EQ(set.items[1].gold, 0);
}

TEST(Choices, MathQaSplitsItsOptionsStringAsTheHarnessDoes) {
  const auto set = data::readChoices(fixture("mathqa.jsonl"));
  EXPECT_EQ(set.format, "mathqa");
  // The harness's regular expression stops a-d at the first ", ": "1 , 2 or 3" loses its tail, and
  // "e )" takes the rest of the string.
  expectShared(set.items[0],
               "Question: a shop sells 12 pens for $ 3 . what is the price of 20 pens ?\nAnswer:",
               {"$ 5", "$ 4", "$ 6.5", "1", "none of these"}, 0);
}

TEST(Choices, MaxItemsKeepsTheFirst) {
  const auto set = data::readChoices(fixture("hellaswag.jsonl"), "", {}, 1);
  ASSERT_EQ(set.items.size(), 1u);
  EXPECT_EQ(set.items[0].gold, 2);
}

TEST_F(ChoicesFile, AMalformedLineIsAnErrorNamingTheFileTheLineAndTheKey) {
  const auto missing = write("piqa.jsonl",
                             "{\"goal\": \"a\", \"sol1\": \"b\", \"sol2\": \"c\", \"label\": 0}\n"
                             "{\"goal\": \"a\", \"sol1\": \"b\", \"label\": 1}\n");
  EXPECT_THAT(errorOf(missing),
              AllOf(HasSubstr(missing.string() + " line 2"), HasSubstr("/sol2 is missing")));

  const auto wrongType =
      write("arc.jsonl",
            "{\"question\": {\"stem\": \"q\", \"choices\": [{\"text\": 3, \"label\": \"A\"}]}, "
            "\"answerKey\": \"A\"}\n");
  EXPECT_THAT(errorOf(wrongType),
              AllOf(HasSubstr("line 1"), HasSubstr("/question/choices/0/text must be a string")));

  const auto notJson =
      write("x.jsonl", "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n{\"context\": \n");
  EXPECT_THAT(errorOf(notJson), AllOf(HasSubstr("line 2"), HasSubstr("not valid JSON")));
  // A number too large for a double is JSON's syntax but not a value (found by the choices fuzz target:
  // the JSON library's out_of_range error escaped).
  const auto overflow =
      write("o.jsonl", "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 1e999}\n");
  EXPECT_THAT(errorOf(overflow), AllOf(HasSubstr("o.jsonl line 1: not valid JSON (number overflow parsing "
                                                 "'1e999')")));

  const auto gold = write("g.jsonl", "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 2}\n");
  EXPECT_THAT(errorOf(gold), AllOf(HasSubstr("line 1"), HasSubstr("index 2 is outside the 2 choices")));

  const auto one = write("one.jsonl", "{\"context\": \"c\", \"choices\": [\"a\"], \"gold\": 0}\n");
  EXPECT_THAT(errorOf(one), HasSubstr("at least two choices"));

  const auto key =
      write("k.jsonl",
            "{\"question\": {\"stem\": \"q\", \"choices\": [{\"text\": \"a\", \"label\": \"A\"}, "
            "{\"text\": \"b\", \"label\": \"B\"}]}, \"answerKey\": \"E\"}\n");
  EXPECT_THAT(errorOf(key), AllOf(HasSubstr("line 1"), HasSubstr("\"E\" is not one of the choices' labels")));

  const auto blank =
      write("w.jsonl",
            "{\"sentence\": \"no blank here\", \"option1\": \"a\", \"option2\": \"b\", \"answer\": \"1\"}\n");
  EXPECT_THAT(errorOf(blank), AllOf(HasSubstr("line 1"), HasSubstr("no \"_\"")));
}

TEST_F(ChoicesFile, AnUnknownLayoutOrFormatOrAnEmptyFileIsNamed) {
  const auto unknown = write("u.jsonl", "{\"prompt\": \"x\", \"answer\": \"y\"}\n");
  EXPECT_THAT(errorOf(unknown),
              AllOf(HasSubstr("line 1"), HasSubstr("cannot tell the multiple-choice format"),
                    HasSubstr("answer, prompt"), HasSubstr("--format")));
  const auto good = write("ok.jsonl", "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n");
  EXPECT_THAT(errorOf(good, "mmlu"), HasSubstr("unknown multiple-choice format \"mmlu\""));
  EXPECT_THAT(errorOf(write("empty.jsonl", "\n\n")), HasSubstr("holds no multiple-choice items"));
  EXPECT_THAT(errorOf(m_dir / "absent.jsonl"), HasSubstr("no such file"));
}

TEST_F(ChoicesFile, PiqaWithoutLabelsOrWithTooFewIsNamed) {
  const std::string line = "{\"goal\": \"a\", \"sol1\": \"b\", \"sol2\": \"c\"}\n";
  const auto noLabels = write("test.jsonl", line);
  EXPECT_THAT(errorOf(noLabels),
              AllOf(HasSubstr("line 1"), HasSubstr("/label is missing"), HasSubstr("--labels")));
  const auto file = write("valid.jsonl", line + line);
  write("valid-labels.lst", "1\n");
  EXPECT_THAT(errorOf(file), AllOf(HasSubstr("line 2"), HasSubstr("no labels file gives item 2")));
  write("valid-labels.lst", "1\n0\n1\n");
  EXPECT_THAT(errorOf(file),
              AllOf(HasSubstr("valid-labels.lst"), HasSubstr("holds 3 labels for the 2 items")));
}
