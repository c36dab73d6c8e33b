// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/spec.h"

#include <gtest/gtest.h>

#include "pipeline/dag.h"
#include "pipeline/expression.h"
#include "pipeline/params.h"
#include "pipeline/step_paths.h"

namespace lockstep::pipeline {
namespace {

Result<PipelineSpec> Parse(const std::string& text) {
  return ParsePipeline(text, "p.yaml");
}

TEST(ParamsTest, ScalarTypesFollowYaml) {
  EXPECT_EQ(TypePlainScalar("2", false), Json(2));
  EXPECT_TRUE(TypePlainScalar("2", false).is_number_integer());
  EXPECT_TRUE(TypePlainScalar("2", true).is_string());
  EXPECT_TRUE(TypePlainScalar("1e-5", false).is_number_float());
  EXPECT_EQ(TypePlainScalar("1e-5", false).get<double>(), 1e-5);
  EXPECT_TRUE(TypePlainScalar("1.0", false).is_number_float());
  EXPECT_EQ(TypePlainScalar("true", false), Json(true));
  EXPECT_TRUE(TypePlainScalar("abc", false).is_string());
}

TEST(ParamsTest, TypesSurviveTheFileAndOverrides) {
  auto spec = Parse(R"(pipeline: p
params:
  n: 2
  s: "2"
  lr: 1e-5
  x: 1.0
  flag: false
  items: [1, "a"]
steps:
  a: {run: [echo, "${{ params.n }}"]}
)");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto values = ResolveParams(*spec, {"x=3", "s=7"}, "");
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_TRUE((*values)["n"].is_number_integer());
  EXPECT_EQ((*values)["s"], Json("7"));
  EXPECT_TRUE((*values)["lr"].is_number_float());
  // An int given to a float param becomes a float, and says so in argv.
  EXPECT_TRUE((*values)["x"].is_number_float());
  EXPECT_EQ(ParamToArgument((*values)["x"]), "3.0");
  EXPECT_EQ(TypedParam((*values)["n"]), (Json{{"type", "int"}, {"value", 2}}));
  EXPECT_EQ(TypedParam(Json("2")),
            (Json{{"type", "string"}, {"value", "2"}}));
  EXPECT_NE(TypedParam(Json(2)), TypedParam(Json("2")));
  EXPECT_NE(TypedParam(Json(2)), TypedParam(Json(2.0)));

  // The typed form reads back to the same type.
  EXPECT_TRUE(UntypedParam(TypedParam(Json(1.0)))->is_number_float());
  EXPECT_TRUE(UntypedParam(TypedParam(Json(2)))->is_number_integer());
  EXPECT_TRUE(UntypedParam(TypedParam(Json("2")))->is_string());
}

// Explicit core-schema tags set the type (a tester found `!!str 2` read
// as the integer 2); a tag the value does not fit, or any other tag, is
// an error at its line.
TEST(ParamsTest, YamlTagsSetTheType) {
  auto spec = Parse(R"(pipeline: p
params:
  s: !!str 2
  f: !!float 3
  i: !!int 4
  b: !!bool true
steps:
  a: {run: [echo]}
)");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto values = ResolveParams(*spec, {}, "");
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ((*values)["s"], Json("2"));
  EXPECT_TRUE((*values)["f"].is_number_float());
  EXPECT_EQ((*values)["f"].get<double>(), 3.0);
  EXPECT_EQ((*values)["i"], Json(4));
  EXPECT_EQ((*values)["b"], Json(true));

  auto misfit = Parse("pipeline: p\nparams:\n  n: !!int seven\n"
                      "steps:\n  a: {run: [echo]}\n");
  EXPECT_NE(misfit.status().message().find(
                "p.yaml:3:6: 'seven' is not a !!int value"),
            std::string::npos)
      << misfit.status().message();
  auto local = Parse("pipeline: p\nparams:\n  n: !mine 1\n"
                     "steps:\n  a: {run: [echo]}\n");
  EXPECT_NE(local.status().message().find("unsupported YAML tag '!mine'"),
            std::string::npos)
      << local.status().message();
}

// Tags on lists, maps and keys count too: a tester found `!mine {a: 1}`,
// `!!int {a: 1}` and a tagged key accepted (and -p values the same).
TEST(ParamsTest, TagsOnCollectionsAndKeysAreChecked) {
  auto error_of = [](const std::string& text) {
    auto spec = Parse(text);
    return spec.ok() ? std::string("(valid)") : spec.status().message();
  };
  std::string steps = "steps:\n  a: {run: [echo]}\n";
  EXPECT_NE(error_of("pipeline: p\nparams:\n  x: !mine {a: 1}\n" + steps)
                .find("p.yaml:3:6: unsupported YAML tag '!mine' on a map"),
            std::string::npos);
  EXPECT_NE(error_of("pipeline: p\nparams:\n  x: !!int [1]\n" + steps)
                .find("unsupported YAML tag 'tag:yaml.org,2002:int' on a "
                      "list"),
            std::string::npos);
  EXPECT_NE(error_of("!mine pipeline: p\n" + steps)
                .find("p.yaml:1:1: unsupported YAML tag '!mine'"),
            std::string::npos);
  EXPECT_EQ(error_of("pipeline: p\nparams:\n  x: !!seq [1]\n"
                     "  y: !!map {a: 1}\n" + steps),
            "(valid)");
  auto spec = Parse("pipeline: p\nparams:\n  l: [1]\n" + steps);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_FALSE(ResolveParams(*spec, {"l=!mine [1]"}, "").ok());
}

// A declared param's null default read as a string param's value; it is
// refused as `name: null` is, at the param's name.
TEST(ParamsTest, NullDefaultIsRefused) {
  std::string steps = "steps:\n  a: {run: [echo]}\n";
  for (const char* value : {"null", "~", "Null"}) {
    auto spec = Parse("pipeline: p\nparams:\n  s: {type: string, default: " +
                      std::string(value) + "}\n" + steps);
    EXPECT_EQ(spec.status().message(),
              "p.yaml:3:3: param 's' has a null default; no param takes "
              "null (leave default: out to make it required)")
        << value;
  }
  auto typed = Parse("pipeline: p\nparams:\n  n:\n    type: int\n"
                     "    default:\n" + steps);
  EXPECT_EQ(typed.status().message(),
            "p.yaml:3:3: param 'n' has a null default; no param takes "
            "null (leave default: out to make it required)");
}

TEST(ParamsTest, BadOverridesAreRefused) {
  auto spec = Parse("pipeline: p\nparams:\n  n: 2\nsteps:\n"
                    "  a: {run: [echo]}\n");
  ASSERT_TRUE(spec.ok());
  EXPECT_NE(ResolveParams(*spec, {"n=abc"}, "").status().message().find(
                "param 'n' is int"),
            std::string::npos);
  EXPECT_NE(ResolveParams(*spec, {"m=1"}, "").status().message().find(
                "declares no param 'm'"),
            std::string::npos);
  // Found by a tester: the second -p silently won.
  EXPECT_EQ(ResolveParams(*spec, {"n=2", "n=3"}, "").status().message(),
            "-p n is given twice");
}

TEST(SpecTest, ErrorsNameFileLineAndColumn) {
  auto unknown_key = Parse("pipeline: p\nsteps:\n  a:\n    rn: [echo]\n");
  EXPECT_EQ(unknown_key.status().message().substr(0, 13), "p.yaml:4:5: u");

  auto bad_output = Parse(
      "pipeline: p\nsteps:\n  a:\n    run: [echo]\n"
      "    outputs: {m: Modle}\n");
  EXPECT_NE(bad_output.status().message().find(
                "p.yaml:5:18: unknown artifact type 'Modle'"),
            std::string::npos);

  auto bad_ref = Parse(
      "pipeline: p\nsteps:\n  a:\n    run: [echo, \"${{ params.q }}\"]\n");
  EXPECT_NE(bad_ref.status().message().find("unknown param 'q'"),
            std::string::npos);
}

// A snapshot named in parts (team/iris, as `data snapshot --name` allows)
// is an input like any other; a tester found it refused as neither form.
TEST(SpecTest, SnapshotNamesMayHoldSlashes) {
  auto spec = Parse("pipeline: p\nsteps:\n  a:\n    run: [echo]\n"
                    "    inputs: {data: team/iris-2.1@3, "
                    "all: team/x@latest}\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const std::vector<InputSpec>& inputs = spec->steps[0].inputs;
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].kind, InputSpec::Kind::kSnapshot);
  EXPECT_EQ(inputs[0].snapshot_name, "team/iris-2.1");
  EXPECT_EQ(inputs[0].snapshot_version, 3);
  EXPECT_EQ(inputs[1].snapshot_name, "team/x");
  EXPECT_EQ(inputs[1].snapshot_version, 0);
}

// A tester found a second document after `---` silently left out.
TEST(SpecTest, ASecondYamlDocumentIsRefused) {
  auto two = Parse("pipeline: p\nsteps:\n  a: {run: [echo]}\n---\n"
                   "pipeline: q\nsteps:\n  b: {run: [echo]}\n");
  EXPECT_NE(two.status().message().find(
                "p.yaml:5:1: a second YAML document"),
            std::string::npos)
      << two.status().message();
  auto one = Parse("---\npipeline: p\nsteps:\n  a: {run: [echo]}\n...\n");
  EXPECT_TRUE(one.ok()) << one.status().ToString();
}

// A tester found the pipeline-level cache: taking anything, `maybe` as
// true and the string "false" as false.
TEST(SpecTest, PipelineCacheIsTrueOrFalse) {
  for (const char* value : {"maybe", "1", "\"false\""}) {
    auto spec = Parse(std::string("pipeline: p\ncache: ") + value +
                      "\nsteps:\n  a: {run: [echo]}\n");
    EXPECT_NE(spec.status().message().find(
                  "p.yaml:2:8: cache: must be true or false"),
              std::string::npos)
        << value << ": " << spec.status().message();
  }
  auto off = Parse("pipeline: p\ncache: false\nsteps:\n  a: {run: [echo]}\n");
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->cache);
}

// Found by a tester: an empty, blank or multi-line name was taken (and a
// multi-line one broke the runs list), and `name:` beside `pipeline:` was
// silently one of the two.
TEST(SpecTest, PipelineNameIsOneLineOfVisibleText) {
  // And one that shows as itself: a right-to-left override (U+202E)
  // reordered the runs list's line; a C1 control (U+009B) is a terminal
  // escape of its own.
  for (const char* name : {"\"\"", "\"   \"", "\"a\\nb\"", "\"a\\tb\"",
                           "\"ab\\u202Ecd\"", "\"a\\u2067b\"",
                           "\"a\\u009B31m\""}) {
    auto spec = Parse(std::string("pipeline: ") + name +
                      "\nsteps:\n  a: {run: [echo]}\n");
    EXPECT_EQ(spec.status().message(),
              "p.yaml:1:11: pipeline: the name must be one line of visible "
              "text")
        << name;
  }
  auto both = Parse("pipeline: a\nname: b\nsteps:\n  a: {run: [echo]}\n");
  EXPECT_EQ(both.status().message(),
            "p.yaml:2:7: name: the pipeline is already named by pipeline:; "
            "give one of the two");
  auto spaced = Parse("pipeline: my pipeline\nsteps:\n  a: {run: [echo]}\n");
  ASSERT_TRUE(spaced.ok()) << spaced.status().ToString();
  EXPECT_EQ(spaced->name, "my pipeline");
}

// `d@0` once meant the latest version, a pin that floated; versions are
// 1 to 17 digits, as for every other snapshot reference.
TEST(SpecTest, SnapshotVersionZeroIsRefused) {
  for (const char* version : {"0", "00", "999999999999999999"}) {
    auto spec = Parse(std::string("pipeline: p\nsteps:\n  a:\n") +
                      "    run: [echo]\n    inputs: {d: iris@" + version +
                      "}\n");
    EXPECT_NE(spec.status().message().find(
                  "input 'd': the version must be a positive integer"),
              std::string::npos)
        << version << ": " << spec.status().message();
  }
}

// Found by a tester: `n: 1` then `n: 2` under params: validated and ran
// with one of the two, silently (YAML requires unique keys).
TEST(SpecTest, DuplicateKeysAreErrorsAtTheSecond) {
  auto param = Parse("pipeline: p\nparams:\n  n: 1\n  n: 2\nsteps:\n"
                     "  a: {run: [echo]}\n");
  ASSERT_FALSE(param.ok());
  EXPECT_EQ(param.status().message(),
            "p.yaml:4:3: duplicate key 'n' (first at line 3)");

  auto step = Parse("pipeline: p\nsteps:\n  a: {run: [echo], run: [true]}\n");
  ASSERT_FALSE(step.ok());
  EXPECT_EQ(step.status().message(),
            "p.yaml:3:20: duplicate key 'run' (first at line 3)");

  // The same key in sibling maps, and in a list of maps, is fine.
  auto fine = Parse("pipeline: p\nsteps:\n  a: {run: [echo]}\n"
                    "  b: {run: [echo], needs: [a]}\n");
  EXPECT_TRUE(fine.ok()) << fine.status().ToString();
}

// Found by a tester: a merge key was refused as "unknown key '<<'", which
// reads as if the YAML were wrong; it is a YAML feature not supported.
TEST(SpecTest, MergeKeysAreNamedAsUnsupported) {
  auto merged = Parse("pipeline: p\nsteps:\n  a: &b {run: [echo]}\n"
                      "  c:\n    <<: *b\n");
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.status().message().find(
                "YAML merge keys (<<) are not supported"),
            std::string::npos)
      << merged.status().ToString();
}

// Found by a tester (through -p): in a param's value a merge key was
// taken as a key named "<<", so the map was not the one meant. It is
// refused there too; a quoted "<<" is a key of that name.
TEST(SpecTest, MergeKeysInValuesAreRefused) {
  auto merged = Parse("pipeline: p\nparams:\n  m: {<<: {a: 1}}\nsteps:\n"
                      "  a: {run: [echo]}\n");
  ASSERT_FALSE(merged.ok());
  EXPECT_EQ(merged.status().message(),
            "p.yaml:3:7: YAML merge keys (<<) are not supported; write the "
            "keys out (an alias of a whole value, *name, works), or quote "
            "\"<<\" for a key of that name");
  auto quoted = Parse("pipeline: p\nparams:\n  m: {\"<<\": {a: 1}}\n"
                      "steps:\n  a: {run: [echo]}\n");
  ASSERT_TRUE(quoted.ok()) << quoted.status().ToString();
  EXPECT_EQ(quoted->FindParam("m")->default_value,
            (Json{{"<<", {{"a", 1}}}}));
}

TEST(DagTest, OrderFollowsDependenciesAndFileOrderOtherwise) {
  auto spec = Parse(R"(pipeline: p
steps:
  c:
    run: [echo]
    inputs: {x: b.o}
  a:
    run: [echo]
    outputs: {o: Artifact}
  b:
    run: [echo]
    needs: [a]
    outputs: {o: Artifact}
  d:
    run: [echo]
    if: steps.b.outputs.o == 1
)");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto order = TopologicalOrder(*spec);
  ASSERT_TRUE(order.ok());
  std::vector<std::string> names;
  for (size_t i : *order) {
    names.push_back(spec->steps[i].name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(StepDependencies(spec->steps[3]), std::set<std::string>{"b"});
}

TEST(DagTest, SelfLoopIsACycle) {
  auto spec = Parse(
      "pipeline: p\nsteps:\n  a:\n    run: [echo]\n    needs: [a]\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("a -> a"), std::string::npos);
}

// Found by a tester: a step reading a finally: step validated, then the
// run spun forever (the finally step waits for every other step).
TEST(DagTest, NormalStepCannotDependOnFinallyStep) {
  const std::string head =
      "pipeline: p\nsteps:\n  n:\n    finally: true\n    run: [echo]\n"
      "    outputs: {o: Artifact}\n  r:\n    run: [echo]\n";
  const std::string rule =
      "step 'r' cannot depend on finally: step 'n', which runs after every "
      "other step";
  auto input = Parse(head + "    inputs: {i: n.o}\n");
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.status().message(), "p.yaml:9:17: " + rule);
  auto condition = Parse(head + "    if: steps.n.outputs.o == 1\n");
  ASSERT_FALSE(condition.ok());
  EXPECT_EQ(condition.status().message(), "p.yaml:9:9: " + rule);
  auto needs = Parse(head + "    needs: [n]\n");
  ASSERT_FALSE(needs.ok());
  EXPECT_EQ(needs.status().message(), "p.yaml:7:3: " + rule);
  // One finally: step may still read another.
  auto chained = Parse(head + "    finally: true\n    inputs: {i: n.o}\n");
  EXPECT_TRUE(chained.ok()) << chained.status().ToString();
}

// Found by a tester: `if:` over a for_each: step's output read the
// internal tar bytes and was silently false.
TEST(DagTest, ExpressionCannotReadAForEachStepsOutput) {
  auto spec = Parse(
      "pipeline: p\nsteps:\n  t:\n    for_each: [1]\n    run: [echo]\n"
      "    outputs: {o: Artifact}\n  g:\n    if: steps.t.outputs.o == 1\n"
      "    run: [echo]\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            "p.yaml:8:9: step 't' is a for_each: step, whose outputs are "
            "folders; an expression reads only a file output");
}

TEST(ExpressionTest, EvaluatesComparisonsAndLogic) {
  auto resolve = [](const std::string& ref) -> Result<Json> {
    if (ref == "params.n") {
      return Json(3);
    }
    return Json("true");
  };
  auto eval = [&](const std::string& text) {
    return Expression::Parse(text)->Evaluate(resolve).value();
  };
  EXPECT_EQ(eval("params.n == 3"), Json(true));
  EXPECT_EQ(eval("params.n > 2.5 && !(params.n >= 4)"), Json(true));
  EXPECT_EQ(eval("steps.a.outputs.v == 'true' || false"), Json(true));
  EXPECT_EQ(eval("params.n != 3"), Json(false));
  int column = 0;
  EXPECT_FALSE(Expression::Parse("params.n ==", &column).ok());
  EXPECT_EQ(column, 12);
  EXPECT_FALSE(Expression::Parse("n == 1").ok());
}

TEST(SpecTest, OutputTypeWithReproduceAndInputMaps) {
  // A map node must not be overwritten by one of its own values (a
  // yaml-cpp assignment pitfall that broke {type:, reproduce:}).
  auto spec = Parse(R"(pipeline: p
steps:
  a:
    run: [sh]
    outputs:
      m: {type: Metrics, reproduce: {tolerance: 0.01}}
  b:
    run: [sh]
    inputs:
      m: {from: a.m, optional: true, type: Metrics}
      unset: {optional: true}
  c:
    run: [sh]
    outputs:
      r: {reproduce: ignore}
)");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->steps[0].outputs[0].type, "Metrics");
  EXPECT_EQ(spec->steps[0].outputs[0].tolerance, 0.01);
  EXPECT_EQ(spec->steps[1].inputs[0].step, "a");
  EXPECT_TRUE(spec->steps[1].inputs[0].optional);
  EXPECT_EQ(spec->steps[1].inputs[0].type, "Metrics");
  EXPECT_TRUE(spec->steps[1].inputs[1].step.empty());
  EXPECT_TRUE(spec->steps[1].inputs[1].optional);
  EXPECT_EQ(spec->steps[2].outputs[0].type, "Artifact");
  EXPECT_EQ(spec->steps[2].outputs[0].reproduce, ReproducePolicy::kIgnore);
}

TEST(SpecTest, RetriesTimeoutFinallyForEach) {
  auto spec = Parse(R"(pipeline: p
params:
  xs: [1, 2]
steps:
  a:
    run: [echo, "${{ item }}"]
    retries: {limit: 3, backoff: 250ms}
    timeout: 5m
    for_each: ${{ params.xs }}
    parallelism: 2
  b:
    run: [echo, "${{ run.status }}"]
    retries: 1
    finally: true
)");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const StepSpec& a = spec->steps[0];
  EXPECT_EQ(a.retries, 3);
  EXPECT_EQ(a.retry_backoff_millis, 250);
  EXPECT_EQ(a.timeout_millis, 5 * 60 * 1000);
  EXPECT_EQ(a.for_each, Json("${{ params.xs }}"));
  EXPECT_EQ(a.parallelism, 2);
  EXPECT_TRUE(spec->steps[1].is_finally);
  EXPECT_EQ(spec->steps[1].retries, 1);
  EXPECT_EQ(spec->steps[1].retry_backoff_millis, 1000);
}

// Found by a tester: validate passed a for_each: over an int, a string or
// a map param, and every run then failed with exit 1. A param's type is
// fixed, so the file is refused at the for_each: value.
TEST(SpecTest, ForEachOverAParamThatIsNotAListIsAnError) {
  const std::pair<const char*, const char*> cases[] = {
      {"3", "int"}, {"\"[1, 2]\"", "string"}, {"{a: 1}", "map"},
      {"1.5", "float"}, {"true", "bool"}};
  for (const auto& [value, type] : cases) {
    auto spec = Parse(std::string("pipeline: p\nparams:\n  n: ") + value +
                      "\nsteps:\n  a:\n    for_each: ${{ params.n }}\n"
                      "    run: [echo, \"${{ item }}\"]\n");
    ASSERT_FALSE(spec.ok()) << value;
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(spec.status().message(),
              std::string("p.yaml:6:15: for_each: param 'n' is ") + type +
                  ", not a list, and no -p or --params value can change "
                  "its type (declare it as a list)");
  }
  auto compare = Parse("pipeline: p\nparams:\n  xs: [1]\nsteps:\n  a:\n"
                       "    for_each: ${{ params.xs == 1 }}\n"
                       "    run: [echo]\n");
  ASSERT_FALSE(compare.ok());
  EXPECT_EQ(compare.status().message(),
            "p.yaml:6:15: for_each: '${{ params.xs == 1 }}' gives one "
            "value, never a list (use a list param or a step's output)");
  // A list param, and a step's output (read when the step runs), pass.
  EXPECT_TRUE(Parse("pipeline: p\nparams:\n  xs: [1]\nsteps:\n  a:\n"
                    "    for_each: ${{ params.xs }}\n    run: [echo]\n")
                  .ok());
  EXPECT_TRUE(Parse("pipeline: p\nsteps:\n  m:\n    run: [echo]\n"
                    "    outputs: {l: Artifact}\n  a:\n"
                    "    for_each: ${{ steps.m.outputs.l }}\n"
                    "    run: [echo]\n")
                  .ok());
}

TEST(SpecTest, ItemOutsideForEachAndBadParallelismAreErrors) {
  auto item = Parse("pipeline: p\nsteps:\n  a:\n    run: [echo, "
                    "\"${{ item }}\"]\n");
  ASSERT_FALSE(item.ok());
  EXPECT_EQ(item.status().message(),
            "p.yaml:4:17: 'item' is available only in a for_each: step");
  auto parallelism = Parse("pipeline: p\nsteps:\n  a:\n    run: [echo]\n"
                           "    parallelism: 2\n");
  ASSERT_FALSE(parallelism.ok());
  EXPECT_EQ(parallelism.status().message(),
            "p.yaml:5:18: parallelism: applies only to a for_each: step");
  // Found by a tester: an explicit 0 was accepted and meant no limit.
  auto zero = Parse("pipeline: p\nsteps:\n  a:\n    for_each: [1]\n"
                    "    run: [echo]\n    parallelism: 0\n");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(),
            "p.yaml:6:18: parallelism: must be at least 1 (leave it out "
            "for no limit)");
}

TEST(SpecTest, UnreadOutputOfAnIntermediateStepIsWarned) {
  auto spec = Parse(R"(pipeline: p
steps:
  a:
    run: [sh]
    outputs: {used: Dataset, forgotten: Dataset}
  b:
    run: [sh]
    inputs: {x: a.used}
    outputs: {result: Model}
)");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  // b is a sink: its output is a result of the pipeline, not a mistake.
  ASSERT_EQ(spec->warnings.size(), 1u);
  EXPECT_EQ(spec->warnings[0],
            "p.yaml:5:41: output 'forgotten' of step 'a' is never read by a "
            "later step");
}

}  // namespace
}  // namespace lockstep::pipeline

namespace lockstep::pipeline {
namespace {

// Regression: reading an output's `type:` once overwrote the output's map
// (yaml-cpp assignment writes through), so `reproduce:` could not be read.
TEST(SpecTest, OutputMapWithTypeAndReproduce) {
  auto spec = ParsePipeline(
      "pipeline: p\nsteps:\n  a:\n    run: [date]\n"
      "    outputs: {when: {type: Metrics, reproduce: {tolerance: 0.01}}}\n"
      "  b:\n    run: [cat, inputs/x]\n"
      "    inputs: {x: {from: a.when, optional: true}}\n",
      "p.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const OutputSpec& output = spec->steps[0].outputs[0];
  EXPECT_EQ(output.type, "Metrics");
  EXPECT_EQ(output.reproduce, ReproducePolicy::kTolerance);
  EXPECT_EQ(output.tolerance, 0.01);
  EXPECT_EQ(spec->steps[1].inputs[0].step, "a");
  EXPECT_TRUE(spec->steps[1].inputs[0].optional);
}

TEST(EnvironmentSpecTest, PipelineAndStepEnvironments) {
  const std::string digest = "sha256:" + std::string(64, 'b');
  auto spec = Parse(R"(pipeline: p
environment:
  lockfile: requirements.lock
  files: wheels
  on_drift: warn
steps:
  a:
    environment: {image: 127.0.0.1:5000/t/bb@)" + digest + R"(}
    run: [cat, /etc/os-release]
  b: {run: [echo]}
)");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->environment.lockfile, "requirements.lock");
  EXPECT_EQ(spec->environment.files, "wheels");
  EXPECT_FALSE(spec->environment.drift_fails);
  const StepSpec& a = *spec->FindStep("a");
  const StepSpec& b = *spec->FindStep("b");
  ASSERT_NE(spec->ImageOf(a), nullptr);
  EXPECT_EQ(spec->ImageOf(a)->image, "127.0.0.1:5000/t/bb@" + digest);
  EXPECT_EQ(spec->ImageOf(a)->image_where.line, 8);
  EXPECT_EQ(spec->ImageOf(b), nullptr);
  // The pipeline's lockfile is used by every step.
  EXPECT_EQ(spec->LockfileOf(b), &spec->environment);
}

TEST(EnvironmentSpecTest, BadEnvironmentsNameTheirPlace) {
  auto unknown = Parse(R"(pipeline: p
environment: {lockfile: r.lock, color: blue}
steps:
  a: {run: [echo]}
)");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("p.yaml:2:"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("unknown key 'color'"),
            std::string::npos);

  auto drift = Parse(R"(pipeline: p
environment: {lockfile: r.lock, on_drift: maybe}
steps:
  a: {run: [echo]}
)");
  ASSERT_FALSE(drift.ok());
  EXPECT_NE(drift.status().message().find("on_drift: must be fail or warn"),
            std::string::npos);

  auto bad_ref = Parse(R"(pipeline: p
steps:
  a:
    environment: {image: no-registry}
    run: [echo]
)");
  ASSERT_FALSE(bad_ref.ok());
  EXPECT_NE(bad_ref.status().message().find("p.yaml:4:26: no-registry"),
            std::string::npos)
      << bad_ref.status().message();

  auto both = Parse(R"(pipeline: p
environment: {lockfile: r.lock, files: w, site_packages: s}
steps:
  a: {run: [echo]}
)");
  ASSERT_FALSE(both.ok());
}

// The message of a parse that must fail, for EXPECT_EQ on the whole text.
std::string ErrorOf(const std::string& text) {
  Result<PipelineSpec> spec = Parse(text);
  return spec.ok() ? "(valid)" : spec.status().message();
}

// Input and output names become inputs/NAME and outputs/NAME: a name
// with `/` or `..` overwrote and moved files outside the step folder.
TEST(SpecTest, InputAndOutputNamesAreSimpleNames) {
  EXPECT_EQ(ErrorOf(R"(pipeline: p
steps:
  a:
    run: [sh]
    outputs: {o: Artifact}
  b:
    run: [sh]
    inputs: {"../../../../victim/keep.txt": a.o}
)"),
            "p.yaml:8:14: input name '../../../../victim/keep.txt' must be "
            "letters, digits, _ and - (it names the file inputs/NAME in "
            "the step folder)");
  EXPECT_EQ(ErrorOf(R"(pipeline: p
steps:
  a:
    run: [sh]
    outputs: {"../../victim/gone.txt": Artifact}
)"),
            "p.yaml:5:15: output name '../../victim/gone.txt' must be "
            "letters, digits, _ and - (it names the file outputs/NAME in "
            "the step folder)");
  for (const char* name : {".", "..", "a/b", "a.txt", "", " x"}) {
    std::string text = std::string("pipeline: p\nsteps:\n  a:\n    run: "
                                   "[sh]\n    outputs: {\"") +
                       name + "\": Artifact}\n";
    EXPECT_NE(ErrorOf(text).find("output name"), std::string::npos) << name;
  }
  EXPECT_EQ(ErrorOf(R"(pipeline: p
steps:
  a:
    run: [sh]
    outputs: {Model_2-b: Artifact}
)"),
            "(valid)");
}

// Found by a tester: a 240-character step name passed validation, and the
// run failed with "File name too long" and no line. The limits follow
// from the file names the names become (step_paths.h).
TEST(SpecTest, NamesLongerThanTheirFileNamesAreRefused) {
  auto with_names = [](const std::string& step, const std::string& input,
                       const std::string& output) {
    return "pipeline: p\nsteps:\n  a:\n    run: [sh]\n    outputs: {o: "
           "Artifact}\n  " + step + ":\n    for_each: [1, 2]\n    run: "
           "[sh]\n    inputs: {" + input + ": a.o}\n    outputs: {" +
           output + ": Artifact}\n";
  };
  EXPECT_EQ(kMaxStepNameBytes, 227u);
  EXPECT_EQ(kMaxStepRecordNameBytes, 238u);
  EXPECT_EQ(ErrorOf(with_names(std::string(227, 's'), std::string(255, 'i'),
                               std::string(255, 'o'))),
            "(valid)");
  EXPECT_EQ(ErrorOf(with_names(std::string(228, 's'), "i", "o")),
            "p.yaml:6:3: step name 'ssssssssssssssssssss...' is 228 "
            "characters; at most 227 fit (it names the step's work folder "
            "NAME[N]-<16 hex digits>, and a file name takes at most 255 "
            "bytes)");
  EXPECT_EQ(ErrorOf(with_names("b", std::string(256, 'i'), "o")),
            "p.yaml:9:14: input name 'iiiiiiiiiiiiiiiiiiii...' is 256 "
            "characters; at most 255 fit (it names the file inputs/NAME in "
            "the step folder, and a file name takes at most 255 bytes)");
  EXPECT_EQ(ErrorOf(with_names("b", "i", std::string(256, 'o'))),
            "p.yaml:10:15: output name 'oooooooooooooooooooo...' is 256 "
            "characters; at most 255 fit (it names the file outputs/NAME "
            "in the step folder, and a file name takes at most 255 bytes)");
}

// `env: ["LD_PRELOAD=/x"]` became a variable named `LD_PRELOAD=/x`.
TEST(SpecTest, EnvEntriesAreVariableNames) {
  EXPECT_EQ(ErrorOf(R"(pipeline: p
steps:
  a:
    run: [sh]
    env: [LANG, "LD_PRELOAD=/x"]
)"),
            "p.yaml:5:17: env: 'LD_PRELOAD=/x' is not a variable name "
            "([A-Za-z_][A-Za-z0-9_]*); env: lists the names of host "
            "variables to pass, not NAME=VALUE");
  EXPECT_NE(ErrorOf("pipeline: p\nsteps:\n  a:\n    run: [sh]\n"
                    "    env: 1X\n")
                .find("p.yaml:5:10: env: '1X' is not a variable name"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("pipeline: p\nsteps:\n  a:\n    run: [sh]\n"
                    "    env: [_A1, b]\n"),
            "(valid)");
}

// Code is copied to the same relative path in the step folder: `../`
// overwrote files outside it, and inputs/ or outputs/ replaced inputs
// or faked outputs.
TEST(SpecTest, CodePathsStayInsideAndOutOfTheLayoutFolders) {
  auto code = [](const std::string& path) {
    return ErrorOf("pipeline: p\nsteps:\n  a:\n    run: [sh]\n"
                   "    code: [\"" + path + "\"]\n");
  };
  EXPECT_EQ(code("../../../../victim/t.txt"),
            "p.yaml:5:12: code path ../../../../victim/t.txt: leaves the "
            "pipeline folder; code is copied to the same relative path in "
            "the step folder, which must stay inside it");
  EXPECT_NE(code("a/../../t").find("p.yaml:5:12: code path a/../../t: "
                                   "leaves the pipeline folder"),
            std::string::npos);
  EXPECT_NE(code("/etc/passwd").find("p.yaml:5:12: code path /etc/passwd: "
                                     "is absolute"),
            std::string::npos);
  EXPECT_NE(code("outputs/model").find("p.yaml:5:12: code path "
                                       "outputs/model: is inside the "
                                       "step's outputs/ folder"),
            std::string::npos);
  EXPECT_NE(code("./inputs").find("is inside the step's inputs/ folder"),
            std::string::npos);
  EXPECT_NE(code("tmp/x").find("is inside the step's tmp/ folder"),
            std::string::npos);
  EXPECT_NE(code("").find("code path : empty"), std::string::npos);
  EXPECT_EQ(code("src/../lib/outputs.py"), "(valid)");
  EXPECT_EQ(code("."), "(valid)");
}

// with: was passed to the component unchecked: bad values failed inside
// the step (exit 64 in its stderr) and unknown keys were ignored.
TEST(SpecTest, BuiltInArgumentsAreChecked) {
  auto split = [](const std::string& with) {
    return ErrorOf("pipeline: p\nparams: {f: 0.3, s: x, n: 5}\nsteps:\n"
                   "  a:\n    uses: lockstep/ml-split\n"
                   "    inputs: {data: d@1}\n    with: {" + with + "}\n");
  };
  EXPECT_EQ(split("label: y, test_fraction: 1.5, seed: 1"),
            "p.yaml:7:37: lockstep/ml-split with: test_fraction must be a "
            "number between 0 and 1 (exclusive), not 1.5");
  EXPECT_EQ(split("label: y, seed: \"abc\""),
            "p.yaml:7:28: lockstep/ml-split with: seed must be a whole "
            "number >= 0, not \"abc\"");
  EXPECT_EQ(split("label: y, bogus: 1"),
            "p.yaml:7:29: unknown with: key 'bogus' for lockstep/ml-split "
            "(known: label, test_fraction, seed)");
  EXPECT_EQ(split("test_fraction: 0.5"),
            "p.yaml:4:3: step 'a' (lockstep/ml-split) needs with: label");
  EXPECT_EQ(split("label: y, seed: 2.5"),
            "p.yaml:7:28: lockstep/ml-split with: seed must be a whole "
            "number >= 0, not 2.5");
  EXPECT_EQ(split("label: [a], seed: 1"),
            "p.yaml:7:19: lockstep/ml-split with: label must be a single "
            "value, not [\"a\"]");
  // A whole param is checked by its type and its default.
  EXPECT_EQ(split("label: y, test_fraction: \"${{ params.s }}\""),
            "p.yaml:7:37: lockstep/ml-split with: test_fraction takes a "
            "number, but param 's' is a string");
  EXPECT_EQ(split("label: y, test_fraction: \"${{ params.n }}\""),
            "p.yaml:7:37: lockstep/ml-split with: test_fraction must be a "
            "number between 0 and 1 (exclusive), not 5 (the default of "
            "param 'n')");
  // A -p value is checked too, before anything runs.
  Result<PipelineSpec> spec = Parse(
      "pipeline: p\nparams: {f: 0.3}\nsteps:\n  a:\n"
      "    uses: lockstep/ml-split\n    inputs: {data: d@1}\n"
      "    with: {label: y, test_fraction: \"${{ params.f }}\"}\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_TRUE(ResolveParams(*spec, {"f=0.5"}, "").ok());
  Result<ParamValues> given = ResolveParams(*spec, {"f=1.5"}, "");
  ASSERT_FALSE(given.ok());
  EXPECT_EQ(given.status().message(),
            "p.yaml:7:37: lockstep/ml-split with: test_fraction must be a "
            "number between 0 and 1 (exclusive), not 1.5 (the value given "
            "to param 'f')");
  EXPECT_EQ(split("label: \"${{ params.s }}\", test_fraction: "
                  "\"${{ params.f }}\", seed: \"${{ params.n }}\""),
            "(valid)");

  EXPECT_EQ(ErrorOf(R"(pipeline: p
steps:
  a:
    uses: lockstep/data-snapshot
    with: {source: d.csv, name: d, bogus: 1}
)"),
            "p.yaml:5:43: unknown with: key 'bogus' for "
            "lockstep/data-snapshot (known: source, name)");
  // `validate` passed snapshot names that `run` then refused.
  auto snapshot_named = [](const std::string& name) {
    return ErrorOf("pipeline: p\nsteps:\n  a:\n"
                   "    uses: lockstep/data-snapshot\n"
                   "    with: {source: d.csv, name: " + name + "}\n");
  };
  EXPECT_EQ(snapshot_named("\"a/../b\""),
            "p.yaml:5:33: lockstep/data-snapshot with: name 'a/../b' is "
            "not a valid snapshot name: parts of letters, digits, . _ - "
            "joined by single '/', none empty or starting with '.' or '-'");
  EXPECT_NE(snapshot_named("!!int 5").find("must be a snapshot name (text)"),
            std::string::npos);
  EXPECT_EQ(snapshot_named("team/iris-2"), "(valid)");
  // Found by a tester: a digest without "sha256:" passed validation and
  // never matched, so the example's data was always reported invalid.
  auto expecting = [](const std::string& digest) {
    return ErrorOf("pipeline: p\nsteps:\n  a:\n"
                   "    uses: lockstep/data-validate\n"
                   "    inputs: {data: d@1}\n"
                   "    outputs: {valid: Artifact}\n"
                   "    with: {expected_digest: " + digest + "}\n");
  };
  std::string hex(64, 'a');
  EXPECT_EQ(expecting("\"sha256:" + hex + "\""), "(valid)");
  EXPECT_EQ(expecting(hex),
            "p.yaml:7:29: lockstep/data-validate with: expected_digest "
            "must be a digest (sha256: and 64 hex digits), not \"" + hex +
            "\"");
  EXPECT_NE(expecting("\"sha256:" + hex.substr(1) + "\"").find(
                "must be a digest"),
            std::string::npos);
  // ml-train passes other lowercase keys to XGBoost, but not its own
  // flags.
  std::string train = "pipeline: p\nsteps:\n  a:\n"
                      "    uses: lockstep/ml-train\n"
                      "    inputs: {train: d@1}\n    with: {label: y, ";
  EXPECT_EQ(ErrorOf(train + "subsample: 0.8, n_estimators: 10}\n"),
            "(valid)");
  EXPECT_NE(ErrorOf(train + "model: x}\n")
                .find("p.yaml:6:29: unknown with: key 'model' for "
                      "lockstep/ml-train"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(train + "n_estimators: 0}\n"),
            "p.yaml:6:36: lockstep/ml-train with: n_estimators must be a "
            "whole number >= 1, not 0");
  EXPECT_EQ(ErrorOf(train + "learning_rate: 0}\n"),
            "p.yaml:6:37: lockstep/ml-train with: learning_rate must be a "
            "number > 0, not 0");
}

// Found by a tester: 500 nested [ ] (valid YAML, which PyYAML reads)
// were refused as "malformed YAML: bad file", yaml-cpp's words for its
// recursion guard.
TEST(SpecTest, NestingPastTheParserIsNamedAsSuch) {
  std::string deep = "pipeline: deep\nparams:\n  p: " +
                     std::string(500, '[') + std::string(500, ']') +
                     "\nsteps:\n  s:\n    run: [echo, hi]\n";
  auto spec = Parse(deep);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("p.yaml:3:"), std::string::npos)
      << spec.status().message();
  EXPECT_NE(spec.status().message().find("nested too deeply"),
            std::string::npos)
      << spec.status().message();
}

}  // namespace
}  // namespace lockstep::pipeline
