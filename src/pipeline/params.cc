// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/params.h"

#include <charconv>
#include <cstdint>
#include <cmath>
#include <optional>
#include <set>

#include <yaml-cpp/yaml.h>

#include "core/canonical_json.h"
#include "core/files.h"
#include "core/json_keys.h"
#include "core/number_text.h"
#include "core/utf8.h"
#include "pipeline/components.h"

namespace lockstep::pipeline {

namespace {

// Whether plain `text` that TypePlainScalar left a string is a
// core-schema float that JSON numbers cannot hold: .inf, -.inf, .nan in
// their three spellings, or a decimal past a double's range (1e400),
// the only float form TypePlainScalar does not type.
bool IsUnrecordableFloatText(const std::string& text) {
  // An integer past int64 is the exact-range check's to report.
  if (IsIntText(text)) return false;
  std::string_view rest = text;
  if (rest.starts_with('+') || rest.starts_with('-')) rest.remove_prefix(1);
  for (std::string_view special : {".inf", ".Inf", ".INF"}) {
    if (rest == special) return true;
  }
  for (std::string_view nan : {".nan", ".NaN", ".NAN"}) {
    if (text == nan) return true;
  }
  return IsFloatText(text);
}

// Converts `value` to `type`, or explains why it cannot be. The one
// conversion is the documented one, an int given to a float param; any
// other value of another type is refused: a --params `1.10` given to a
// string param used to run as the text "1.1", and `true` as "true"
// (found by a tester).
Result<Json> Coerce(const Json& value, ParamType type,
                    const std::string& name) {
  // Null is no param's value: a --params null used to pass for a string
  // param, even a required one, and run as "" (found by a tester).
  if (value.is_null()) {
    return Status::InvalidArgument(
        "param '" + name + "' is " + ParamTypeName(type) +
        ", but the value is null; no param takes null (give a value of "
        "its type, or leave the param out to use its default)");
  }
  // A string reaches a step's command line, which ends at a NUL: the
  // manifest recorded "a\0b" and the step ran with "a" (found by a
  // tester).
  if (value.is_string() &&
      value.get_ref<const std::string&>().find('\0') != std::string::npos) {
    return Status::InvalidArgument(
        "param '" + name + "' holds a NUL byte, which no command line or "
        "file name can carry");
  }
  ParamType actual = TypeOfValue(value);
  if (actual == type) {
    return value;
  }
  if (type == ParamType::kFloat && actual == ParamType::kInt) {
    return Json(value.get<double>());
  }
  // A float is named by its type alone: its text as read back is not
  // what was written (1.10 reads as 1.1).
  std::string shown = value.is_number_float()
                          ? "is a float"
                          : value.dump() + " is " + ParamTypeName(actual);
  std::string hint =
      type == ParamType::kString ? " (write it in quotes to pass text)" : "";
  return Status::InvalidArgument("param '" + name + "' is " +
                                 ParamTypeName(type) + ", but the value " +
                                 shown + hint);
}

// Why param `name`'s integer `value` is refused: outside +-(2^53 - 1)
// (kMaxExactInteger below), a manifest cannot record it exactly.
std::string ExactRangeMessage(const std::string& name,
                              const std::string& value) {
  // A value of 100,000 digits is shown by its start and length.
  std::string shown = value.size() <= 40
                          ? value
                          : value.substr(0, 20) + "... (" +
                                std::to_string(value.size()) + " characters)";
  return "param '" + name + "': the integer " + shown +
         " is outside +-9007199254740991 (2^53 - 1), the integers a "
         "manifest's RFC 8785 numbers (IEEE doubles) record exactly; pass "
         "it as a string";
}

// " (line L, column C of the value)": where `node` is in a -p value.
std::string MarkText(const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  if (mark.line < 0) return "";
  return " (line " + std::to_string(mark.line + 1) + ", column " +
         std::to_string(mark.column + 1) + " of the value)";
}

// A -p value's YAML node as JSON, scalars typed as in the pipeline file.
// Counts the values it makes in `*budget` and gives up (nullopt) past
// kMaxYamlValues: aliases let a few bytes of YAML stand for billions.
Result<Json> YamlValue(const YAML::Node& node, size_t* budget) {
  if (++*budget > kMaxYamlValues) {
    return Status::InvalidArgument(
        "the value expands to more than " + std::to_string(kMaxYamlValues) +
        " values (YAML aliases repeat what they name)");
  }
  RETURN_IF_ERROR(CheckYamlTag(node));
  if (node.IsSequence()) {
    Json list = Json::array();
    for (const YAML::Node& item : node) {
      ASSIGN_OR_RETURN(Json value, YamlValue(item, budget));
      list.push_back(std::move(value));
    }
    return list;
  }
  if (node.IsMap()) {
    Json map = Json::object();
    for (const auto& entry : node) {
      RETURN_IF_ERROR(CheckYamlTag(entry.first));
      // A list or map as a key read as the key "".
      if (!entry.first.IsScalar()) {
        return Status::InvalidArgument(
            "a map's key must be a single value" + MarkText(entry.first));
      }
      // `{<<: {a: 1}}` ran as a map with the key "<<" (found by a
      // tester), where the pipeline file refuses merge keys.
      RETURN_IF_ERROR(CheckMergeKey(entry.first, MarkText(entry.first)));
      // yaml-cpp keeps both of `{a: 1, a: 2}` and the last one won, while
      // the pipeline file and --params refuse them (found by a tester).
      const std::string& key = entry.first.Scalar();
      if (map.contains(key)) {
        return Status::InvalidArgument("key \"" + key +
                                       "\" appears twice in the same "
                                       "object" + MarkText(entry.first));
      }
      ASSIGN_OR_RETURN(map[key], YamlValue(entry.second, budget));
    }
    return map;
  }
  if (node.IsNull()) {
    return Json(nullptr);
  }
  return TypeYamlScalar(node.Scalar(), node.Tag());
}

// The value of `-p name=text` before coercion: typed as YAML would type it,
// so `-p n=2` is an int, `-p n='"2"'` a string and `-p xs='[1, "2"]'` a
// list of an int and a string.
Result<Json> TypeCommandLineValue(const std::string& name,
                                  const std::string& text) {
  try {
    YAML::Node node = YAML::Load(text);
    // `-p n=null` is YAML's null, which the type check then names (it
    // was the text "null", reported as a string); `-p n=` stays "".
    bool null = node.IsNull() && !text.empty();
    if (null || node.IsScalar() || node.IsSequence() || node.IsMap()) {
      size_t budget = 0;
      Result<Json> value = YamlValue(node, &budget);
      if (!value.ok()) {
        return Status::InvalidArgument("-p " + name + ": " +
                                       value.status().message());
      }
      // Past int64 an integer has become a float, in a list or map too
      // (`-p xs='[123456789012345678901234567890]'` ran rounded; found
      // by a tester): its text still says it is an integer.
      if (std::optional<YAML::Node> inexact = FindInexactIntegerNode(node)) {
        return Status::InvalidArgument(
            "-p " + name + ": " + ExactRangeMessage(name, inexact->Scalar()));
      }
      return value;
    }
  } catch (const YAML::Exception&) {
  }
  return Json(text);
}

// Manifests are RFC 8785 JSON, whose numbers are IEEE doubles: beyond
// 2^53 - 1 an integer may be recorded as a neighbour (...993 as ...992),
// and two different runs would look identical.
constexpr int64_t kMaxExactInteger = (int64_t{1} << 53) - 1;

// Whether `text` is an integer literal a double cannot hold exactly.
bool IsInexactIntText(const std::string& text) {
  if (!IsIntText(text)) return false;
  int64_t n = 0;
  const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
  auto [end, error] = std::from_chars(begin, text.data() + text.size(), n);
  return error != std::errc() || n > kMaxExactInteger ||
         n < -kMaxExactInteger;
}

// An integer anywhere in `value` (lists and maps too) that a double cannot
// hold exactly, as its text, or nullopt.
std::optional<std::string> InexactInteger(const Json& value) {
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() > uint64_t{kMaxExactInteger}) {
      return value.dump();
    }
  } else if (value.is_number_integer()) {
    int64_t n = value.get<int64_t>();
    if (n > kMaxExactInteger || n < -kMaxExactInteger) return value.dump();
  } else if (value.is_structured()) {
    for (const Json& item : value) {
      if (auto found = InexactInteger(item)) return found;
    }
  }
  return std::nullopt;
}

// The YAML node a param's default was written as, found again in the
// pipeline file: an integer literal past int64 has become a float by the
// time the spec holds it, and only its text tells the two apart.
std::optional<YAML::Node> DefaultNode(const PipelineSpec& spec,
                                      const std::string& name) {
  try {
    // The bytes parsed, not the file again: it may have changed since.
    YAML::Node param = YAML::Load(spec.text)["params"][name];
    if (param.IsMap() && param["type"].IsDefined()) param = param["default"];
    if (param.IsDefined()) return param;
  } catch (const YAML::Exception&) {
  }
  return std::nullopt;
}

// Whether `value` holds, anywhere (lists and maps too), an integer
// outside +-(2^53 - 1) or a float as large, which may have been written
// as such an integer: the cheap test before the file is read again.
bool MayHoldInexactInteger(const Json& value) {
  if (value.is_number_float()) {
    return std::fabs(value.get<double>()) > double(kMaxExactInteger);
  }
  if (value.is_structured()) {
    for (const Json& item : value) {
      if (MayHoldInexactInteger(item)) return true;
    }
    return false;
  }
  return InexactInteger(value).has_value();
}

// Refuses a YAML default integer a manifest could not record exactly,
// naming its file:line:column, inside a list or map too (a default
// `[123456789012345678901234567890]` was a list of a rounded float).
Status CheckDefaultIsExact(const PipelineSpec& spec, const ParamSpec& param) {
  const Json& value = *param.default_value;
  if (!MayHoldInexactInteger(value)) return Status::Ok();
  std::optional<YAML::Node> node = DefaultNode(spec, param.name);
  if (!node) {
    if (auto found = InexactInteger(value)) {
      return SpecError(param.where, ExactRangeMessage(param.name, *found));
    }
    return Status::Ok();
  }
  std::optional<YAML::Node> inexact = FindInexactIntegerNode(*node);
  if (!inexact) return Status::Ok();
  SourceLocation where = param.where;
  where.line = inexact->Mark().line + 1;
  where.column = inexact->Mark().column + 1;
  return SpecError(where, ExactRangeMessage(param.name, inexact->Scalar()));
}

Status ApplyParamsFile(const PipelineSpec& spec, const ParamsFile& file,
                       ParamValues* values) {
  const std::string& path = file.path;
  const std::string& text = file.text;
  // Malformed JSON is reported as ParseJson words it: FILE:LINE:COL.
  ASSIGN_OR_RETURN(Json parsed, ParseJsonWithUniqueKeys(text, path));
  if (!parsed.is_object()) {
    return Status::InvalidArgument(path +
                                   ": a params file is a JSON object of "
                                   "param names to values");
  }
  for (const auto& [name, value] : parsed.items()) {
    // Each fault is shown where its param is written (found by a tester:
    // only the file was named).
    std::string where = path + ":" + JsonKeyLocation(text, "", name);
    const ParamSpec* param = spec.FindParam(name);
    if (param == nullptr) {
      return Status::InvalidArgument(where + ": unknown param '" + name +
                                     "'");
    }
    // Past int64 an integer literal has been read as a double, and was
    // rounded for a float param or called a float for an int one (found
    // by a tester); its text still says it is an integer.
    std::optional<std::string> found = InexactInteger(value);
    if (!found) {
      found = OversizedIntegerLiteral(text, "/" + PointerToken(name));
    }
    if (found) {
      return Status::InvalidArgument(where + ": " +
                                     ExactRangeMessage(name, *found));
    }
    Result<Json> typed = Coerce(value, param->type, name);
    RETURN_IF_ERROR(typed.status().WithContext(where));
    (*values)[name] = *typed;
  }
  return Status::Ok();
}

}  // namespace

Result<Json> TypeYamlScalar(const std::string& text, const std::string& tag) {
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return Json(text);
  Json typed = TypePlainScalar(text, false);
  // Read as a string, a float the YAML file meant would be a silent
  // change of type (found by a tester).
  if (typed.is_string() && IsUnrecordableFloatText(text)) {
    return Status::InvalidArgument(
        "'" + text + "' is a YAML float that a manifest cannot record "
        "(RFC 8785 has no infinity or NaN, and no number past 1.8e308); "
        "quote it to pass it as text");
  }
  if (tag == "?" || tag.empty()) return typed;
  constexpr std::string_view kCore = "tag:yaml.org,2002:";
  std::string_view type = std::string_view(tag).starts_with(kCore)
                              ? std::string_view(tag).substr(kCore.size())
                              : std::string_view();
  if (type != "int" && type != "float" && type != "bool" && type != "null") {
    return Status::InvalidArgument(
        "unsupported YAML tag '" + tag +
        "' (only !!str, !!int, !!float, !!bool and !!null)");
  }
  bool fits = type == "int"     ? typed.is_number_integer()
              : type == "float" ? typed.is_number()
              : type == "bool"  ? typed.is_boolean()
                                : typed.is_null();
  if (!fits) {
    return Status::InvalidArgument("'" + text + "' is not a !!" +
                                   std::string(type) + " value");
  }
  if (type == "float") return Json(typed.get<double>());
  return typed;
}

Status CheckYamlTag(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  if (tag.empty() || tag == "?" || tag == "!") return Status::Ok();
  if (node.IsScalar()) return TypeYamlScalar(node.Scalar(), tag).status();
  std::string_view kind = node.IsSequence() ? "seq"
                          : node.IsMap()    ? "map"
                                            : "null";
  if (tag == "tag:yaml.org,2002:" + std::string(kind)) return Status::Ok();
  return Status::InvalidArgument("unsupported YAML tag '" + tag + "' on a " +
                                 (kind == "seq"   ? "list"
                                  : kind == "map" ? "map"
                                                  : "empty value") +
                                 " (only !!" + std::string(kind) + ")");
}

Status CheckMergeKey(const YAML::Node& key, const std::string& where) {
  if (!key.IsScalar() || key.Tag() != "?" || key.Scalar() != "<<") {
    return Status::Ok();
  }
  return Status::InvalidArgument(
      "YAML merge keys (<<) are not supported" + where +
      "; write the keys out (an alias of a whole value, *name, works), or "
      "quote \"<<\" for a key of that name");
}

Json TypePlainScalar(const std::string& text, bool quoted) {
  if (quoted) {
    return Json(text);
  }
  if (text.empty() || text == "~" || text == "null" || text == "Null" ||
      text == "NULL") {
    return Json(nullptr);
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return Json(true);
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return Json(false);
  }
  if (IsIntText(text)) {
    int64_t n = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    auto [end, error] = std::from_chars(begin, text.data() + text.size(), n);
    if (error == std::errc() && end == text.data() + text.size()) {
      return Json(n);
    }
  }
  // The core schema's other ints: 0x1F and 0o17, without a sign.
  if (text.size() > 2 && text[0] == '0' &&
      (text[1] == 'x' || text[1] == 'o')) {
    int64_t n = 0;
    const char* last = text.data() + text.size();
    auto [end, error] =
        std::from_chars(text.data() + 2, last, n, text[1] == 'x' ? 16 : 8);
    if (error == std::errc() && end == last) return Json(n);
  }
  if (IsFloatText(text)) {
    // from_chars, not stod: a value out of a double's range (1e400) stays
    // a string, whose type the param check then reports, instead of an
    // uncaught std::out_of_range.
    double number = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    auto [end, error] = std::from_chars(begin, text.data() + text.size(),
                                        number);
    if (error == std::errc() && end == text.data() + text.size()) {
      return Json(number);
    }
  }
  return Json(text);
}

namespace {

// Validation checked each built-in's `with: ${{ params.NAME }}` against
// the param's default; a -p or params-file value is checked here, before
// anything runs, rather than by the component inside its step.
Status CheckComponentParams(const PipelineSpec& spec,
                            const ParamValues& values) {
  for (const StepSpec& step : spec.steps) {
    const ComponentSpec* component =
        step.uses.empty() ? nullptr : FindComponent(step.uses);
    for (const auto& [key, value] : step.with) {
      const ComponentArgument* argument =
          component != nullptr ? FindArgument(*component, key) : nullptr;
      const ParamSpec* param =
          argument != nullptr && value.is_string()
              ? WholeParamOf(spec, value.get<std::string>())
              : nullptr;
      auto given = param != nullptr ? values.find(param->name) : values.end();
      if (given == values.end()) {
        continue;
      }
      std::string problem = ArgumentProblem(*argument, given->second);
      if (!problem.empty()) {
        return SpecError(step.WithWhere(key),
                         step.uses + " with: " + key + " " + problem +
                             " (the value given to param '" + param->name +
                             "')");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ParamValues> ResolveParams(const PipelineSpec& spec,
                                  const std::vector<std::string>& overrides,
                                  const std::string& params_file) {
  if (params_file.empty()) {
    return ResolveParams(spec, overrides, nullptr);
  }
  ASSIGN_OR_RETURN(std::string text, ReadDocument(params_file));
  ParamsFile file{.path = params_file, .text = std::move(text)};
  return ResolveParams(spec, overrides, &file);
}

Status CheckParamDefaults(const PipelineSpec& spec) {
  for (const ParamSpec& param : spec.params) {
    if (param.default_value) {
      RETURN_IF_ERROR(CheckDefaultIsExact(spec, param));
    }
  }
  return Status::Ok();
}

Result<ParamValues> ResolveParams(const PipelineSpec& spec,
                                  const std::vector<std::string>& overrides,
                                  const ParamsFile* params_file) {
  RETURN_IF_ERROR(CheckParamDefaults(spec));
  ParamValues values;
  for (const ParamSpec& param : spec.params) {
    if (param.default_value) {
      values[param.name] = *param.default_value;
    }
  }
  if (params_file != nullptr) {
    RETURN_IF_ERROR(ApplyParamsFile(spec, *params_file, &values));
  }

  std::set<std::string> overridden;
  for (const std::string& assignment : overrides) {
    size_t eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("-p " + assignment +
                                     ": expected -p name=value");
    }
    std::string name = assignment.substr(0, eq);
    // The last of two would win unseen, as in a script that appends.
    if (!overridden.insert(name).second) {
      return Status::InvalidArgument("-p " + name + " is given twice");
    }
    const ParamSpec* param = spec.FindParam(name);
    if (param == nullptr) {
      return Status::InvalidArgument("-p " + assignment + ": " +
                                     spec.file.string() +
                                     " declares no param '" + name + "'");
    }
    std::string text = assignment.substr(eq + 1);
    // Params are hashed and recorded as UTF-8 JSON.
    RETURN_IF_ERROR(RequireUtf8("-p " + name, text));
    Json value = text;
    if (param->type != ParamType::kString) {
      ASSIGN_OR_RETURN(value, TypeCommandLineValue(name, text));
      if (std::optional<std::string> found = InexactInteger(value)) {
        return Status::InvalidArgument("-p " + name + ": " +
                                       ExactRangeMessage(name, *found));
      }
    }
    ASSIGN_OR_RETURN(values[name], Coerce(value, param->type, name));
  }

  for (const ParamSpec& param : spec.params) {
    if (!values.contains(param.name)) {
      return SpecError(param.where, "required param '" + param.name +
                                        "' has no value (pass -p " +
                                        param.name + "=...)");
    }
  }
  RETURN_IF_ERROR(CheckComponentParams(spec, values));
  return values;
}

std::optional<std::string> FindInexactInteger(const Json& value) {
  return InexactInteger(value);
}

std::optional<YAML::Node> FindInexactIntegerNode(const YAML::Node& node) {
  if (node.IsScalar()) {
    if (node.Tag() == "?" && IsInexactIntText(node.Scalar())) return node;
    return std::nullopt;
  }
  for (const auto& item : node) {
    std::optional<YAML::Node> found =
        FindInexactIntegerNode(node.IsMap() ? item.second : YAML::Node(item));
    if (found) return found;
  }
  return std::nullopt;
}

Json TypedParam(const Json& value) {
  return Json{{"type", ParamTypeName(TypeOfValue(value))}, {"value", value}};
}

Result<Json> UntypedParam(const Json& typed) {
  // Typed params come from manifests, which may have been edited.
  if (!typed.is_object() || !typed.contains("type") ||
      !typed["type"].is_string() || !typed.contains("value")) {
    return Status::InvalidArgument(
        "a typed param needs a string 'type' and a 'value'");
  }
  std::optional<ParamType> type =
      ParseParamType(typed["type"].get<std::string>());
  if (!type) {
    return Status::InvalidArgument("unknown param type " +
                                   typed["type"].dump());
  }
  if (*type == ParamType::kFloat && typed["value"].is_number()) {
    return Json(typed["value"].get<double>());
  }
  if (*type == ParamType::kInt && typed["value"].is_number()) {
    return Json(typed["value"].get<int64_t>());
  }
  return typed["value"];
}

std::string ParamToArgument(const Json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number_float()) {
    std::string text = FormatJsonNumber(value.get<double>());
    if (text.find_first_of(".e") == std::string::npos) {
      text += ".0";
    }
    return text;
  }
  if (value.is_null()) {
    return "";
  }
  if (value.is_primitive()) {
    return value.dump();
  }
  return CanonicalJson(value).value();
}

}  // namespace lockstep::pipeline
