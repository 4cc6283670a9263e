// Reading JSON documents strictly, with errors that say where: the file and the JSON pointer of
// the value (RFC 6901, "/points/3/keep"), and the type it needs. Integers are not rounded from
// fractions, unsigned ones not wrapped from negatives. Used by job specs and the factorized
// manifest. Torch-free, header-only.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "common/error.h"

namespace ranklab {

// A JSON document as text, for storing or hashing. Strings that are not UTF-8 (a file name in
// Latin-1, bytes read from a damaged file) become U+FFFD instead of throwing the JSON library's
// type_error.316 out of a job that has done its work.
inline std::string jsonText(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace json_detail {

// RFC 6901: '~' and '/' inside a key are escaped.
inline std::string pointerKey(const std::string& key) {
  std::string out;
  for (char c : key) out += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
  return out;
}

inline std::string describe(const nlohmann::json& v) {
  std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(v.type_name()) + " " + text;
}

[[noreturn]] inline void wrongType(const std::string& context, const std::string& pointer,
                                   const char* expected, const nlohmann::json& v) {
  throw Error(context + ": " + pointer + " must be " + expected + ", got " + describe(v));
}

// One value of type T at `pointer`, strictly: integers must be integers (1.5 is not a sample count)
// and fit their type, unsigned ones not negative.
template <class T>
T scalar(const nlohmann::json& v, const std::string& context, const std::string& pointer) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) wrongType(context, pointer, "a string", v);
    return v.get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) wrongType(context, pointer, "true or false", v);
    return v.get<bool>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) wrongType(context, pointer, "a number", v);
    return v.get<T>();
  } else {
    static_assert(std::is_integral_v<T>);
    bool fits = false;
    if (v.is_number_unsigned()) {
      fits = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    } else if (v.is_number_integer()) {
      const int64_t i = v.get<int64_t>();
      fits = std::is_signed_v<T>
                 ? i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                       i <= static_cast<int64_t>(std::numeric_limits<T>::max())
                 : i >= 0 && static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    }
    if (!fits) wrongType(context, pointer, std::is_signed_v<T> ? "an integer" : "an integer of 0 or more", v);
    return static_cast<T>(v.is_number_unsigned() ? static_cast<T>(v.get<uint64_t>())
                                                 : static_cast<T>(v.get<int64_t>()));
  }
}

template <class T>
struct Field {
  static T get(const nlohmann::json& v, const std::string& context, const std::string& pointer) {
    return scalar<T>(v, context, pointer);
  }
};

template <class T>
struct Field<std::vector<T>> {
  static std::vector<T> get(const nlohmann::json& v, const std::string& context, const std::string& pointer) {
    if (!v.is_array()) wrongType(context, pointer, "a list", v);
    std::vector<T> out;
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(scalar<T>(v[i], context, pointer + "/" + std::to_string(i)));
    return out;
  }
};

template <class T>
struct Field<std::map<std::string, T>> {
  static std::map<std::string, T> get(const nlohmann::json& v, const std::string& context,
                                      const std::string& pointer) {
    if (!v.is_object()) wrongType(context, pointer, "an object", v);
    std::map<std::string, T> out;
    for (const auto& item : v.items())
      out[item.key()] = scalar<T>(item.value(), context, pointer + "/" + pointerKey(item.key()));
    return out;
  }
};

}  // namespace json_detail

// The field `key` of the object at `pointer` ("" for the document), read strictly: errors name the
// file (`context`) and the JSON pointer ("/ops/3/rank") with the type the value needs. A missing key
// is an error too.
template <class T>
T jsonField(const nlohmann::json& object, const std::string& key, const std::string& context,
            const std::string& pointer = "") {
  const std::string at = pointer + "/" + json_detail::pointerKey(key);
  if (!object.is_object())
    json_detail::wrongType(context, pointer.empty() ? "the document" : pointer, "an object", object);
  const auto it = object.find(key);
  if (it == object.end()) throw Error(context + ": " + at + " is missing");
  return json_detail::Field<T>::get(*it, context, at);
}

}  // namespace ranklab
