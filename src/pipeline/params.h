// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Typed params. A param's type survives every round trip: `n: 2` is an
// int, `n: "2"` a string, `lr: 1e-5` and `x: 1.0` are floats. Cache keys
// and manifests record a param as {"type", "value"} so that 2, 2.0 and "2"
// never collide, although RFC 8785 writes 2 and 2.0 alike.

#ifndef LOCKSTEP_PIPELINE_PARAMS_H_
#define LOCKSTEP_PIPELINE_PARAMS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/spec.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace lockstep::pipeline {

using ParamValues = std::map<std::string, Json>;

// Types a plain (unquoted) YAML scalar: null, bool, int, float, else
// string. Quoted scalars are always strings; pass `quoted`.
Json TypePlainScalar(const std::string& text, bool quoted);

// A YAML scalar's value given its tag as yaml-cpp reports it ("?" plain,
// "!" quoted, else an explicit tag): quoted text and `!!str` are strings,
// `!!int`, `!!float`, `!!bool` and `!!null` that type (InvalidArgument
// when the text is not of it), plain text is typed by its form, and any
// other tag is InvalidArgument rather than a guess.
Result<Json> TypeYamlScalar(const std::string& text, const std::string& tag);

// InvalidArgument when `node` carries a tag other than its core-schema
// kind's (!!seq on a list, !!map on a map, !!null on an empty value) or,
// on a scalar, one TypeYamlScalar refuses.
Status CheckYamlTag(const YAML::Node& node);

// InvalidArgument when `key`, a map's key, is a plain `<<`: YAML 1.1
// reads it as a merge key (`<<: *base`), which Lockstep does not
// support, and yaml-cpp as a key named "<<", so the map would silently
// not be the one meant. A quoted "<<" is a key of that name. `where`
// follows "not supported" in the message (" (line 1, column 2 of the
// value)"), for a reader whose errors carry no file:line:column.
Status CheckMergeKey(const YAML::Node& key, const std::string& where = "");

// Applies defaults, a params file (a JSON object) and `-p name=value`
// overrides, in that order. `-p` text given to a string param is that
// text, and is read as YAML for other types. A value must be of the
// param's declared type; the one conversion is an int given to a float
// param, which becomes a float. InvalidArgument for unknown params,
// values of another type, and required params left unset.
Result<ParamValues> ResolveParams(const PipelineSpec& spec,
                                  const std::vector<std::string>& overrides,
                                  const std::string& params_file);

// A --params file as a run read it, once: a run resolves its params and
// fingerprints its replay record from the same bytes, and a file that
// can be read only once (`--params <(...)`) still works.
struct ParamsFile {
  std::string path;  // As given; names the file in messages.
  std::string text;
};

// Same, with the params file already read (nullptr when none).
Result<ParamValues> ResolveParams(const PipelineSpec& spec,
                                  const std::vector<std::string>& overrides,
                                  const ParamsFile* params_file);

// Refuses a default integer beyond +-(2^53 - 1), naming its
// file:line:column; `run` (ResolveParams) and `validate` both check it.
Status CheckParamDefaults(const PipelineSpec& spec);

// An integer anywhere in `value` outside +-(2^53 - 1), which manifests
// and keys (RFC 8785 doubles) cannot record exactly, as its text; nullopt
// when there is none.
std::optional<std::string> FindInexactInteger(const Json& value);

// The first plain scalar in `node` (lists and map values included)
// written as an integer outside that range, or nullopt: a YAML or
// command-line integer past int64 has become a float once typed, and
// only its text tells.
std::optional<YAML::Node> FindInexactIntegerNode(const YAML::Node& node);

// {"type": "int", "value": 2}: the typed form used in keys and manifests.
Json TypedParam(const Json& value);

// Reads a typed form back (manifest round trip).
Result<Json> UntypedParam(const Json& typed);

// How a value is spelled in an argv: strings as is, floats always with a
// decimal point or exponent ("1.0"), lists and maps as canonical JSON.
std::string ParamToArgument(const Json& value);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_PARAMS_H_
