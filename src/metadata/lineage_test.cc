// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Lineage on a store shaped like the example pipeline: a raw CSV is
// snapshotted, split, trained on and evaluated, then run again with every
// step cached (cached executions point at the first run's outputs).

#include "metadata/lineage.h"

#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "core/files.h"
#include "metadata/testing_backends.h"

namespace lockstep::metadata {
namespace {

using testing::Backend;
using testing::BackendTest;

struct ExampleIds {
  int64_t raw = 0, snapshot = 0, train = 0, test = 0, model = 0, metrics = 0;
};

// Records one run of the example; with `first` null the steps execute,
// otherwise they are cached hits on the first run's outputs.
ExampleIds RecordExampleRun(MetadataStore* store, const std::string& run_id,
                            const ExampleIds* first) {
  int64_t ctx = *store->PutContext({.type = "run", .name = run_id});
  EXPECT_TRUE(store->CreateRun({.run_id = run_id, .context_id = ctx,
                                .pipeline = "iris", .status = "succeeded",
                                .started_ms = 1767225600000}).ok());
  ExampleIds ids;
  auto state = first ? ExecutionState::kCached : ExecutionState::kComplete;
  auto step = [&](const std::string& type, const std::string& name,
                  std::vector<std::pair<std::string, int64_t>> inputs,
                  std::vector<std::pair<std::string, Artifact>> outputs) {
    ExecutionRecord record;
    record.execution = {.type = type, .name = name, .state = state,
                        .cache_key = "sha256:key-" + name};
    record.inputs = std::move(inputs);
    record.outputs = std::move(outputs);
    record.context_ids = {ctx};
    EXPECT_TRUE(store->RecordExecution(&record).ok());
    std::vector<int64_t> out;
    for (const auto& [port, artifact] : record.outputs) {
      out.push_back(artifact.id);
    }
    return out;
  };
  auto output = [&](const std::string& type, const std::string& digest,
                    int64_t existing) {
    return Artifact{.id = existing, .type = type, .digest = digest};
  };

  if (first == nullptr) {
    ids.raw = *store->PutArtifact({.type = "Artifact", .uri = "data/iris.csv",
                                   .digest = "sha256:rawcsv"});
  } else {
    ids = *first;
  }
  auto snap = step("lockstep/data-snapshot", "snapshot", {{"source", ids.raw}},
                   {{"dataset", output("Dataset", "sha256:snap",
                                       ids.snapshot)}});
  if (first == nullptr) {
    EXPECT_TRUE(store->PutSnapshot({"iris", 1, snap[0]}).ok());
  }
  auto split = step("lockstep/data-split", "split", {{"data", snap[0]}},
                    {{"train", output("Dataset", "sha256:train", ids.train)},
                     {"test", output("Dataset", "sha256:test", ids.test)}});
  auto train = step("lockstep/ml-train", "train", {{"data", split[0]}},
                    {{"model", output("Model", "sha256:model", ids.model)}});
  auto eval = step("lockstep/ml-evaluate", "evaluate",
                   {{"model", train[0]}, {"data", split[1]}},
                   {{"metrics", output("Metrics", "sha256:metrics",
                                       ids.metrics)}});
  return {ids.raw, snap[0], split[0], split[1], train[0], eval[0]};
}

class LineageTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (store_ != nullptr) {
      first_ = RecordExampleRun(store_.get(), "run-1", nullptr);
      second_ = RecordExampleRun(store_.get(), "run-2", &first_);
    }
  }
  ExampleIds first_, second_;
};
LOCKSTEP_INSTANTIATE_BACKENDS(LineageTest);

TEST_P(LineageTest, CachedRunReusesTheFirstRunsArtifacts) {
  EXPECT_EQ(second_.metrics, first_.metrics);
  EXPECT_EQ(second_.model, first_.model);
}

TEST_P(LineageTest, ReferencesResolveInEveryForm) {
  EXPECT_EQ(*ResolveLineageRef(store_.get(), "run-2/evaluate/metrics"),
            std::vector<int64_t>{first_.metrics});
  EXPECT_EQ(*ResolveLineageRef(store_.get(), "sha256:model"),
            std::vector<int64_t>{first_.model});
  EXPECT_EQ(*ResolveLineageRef(store_.get(), std::to_string(first_.raw)),
            std::vector<int64_t>{first_.raw});
  EXPECT_EQ(*ResolveLineageRef(store_.get(), "iris@1"),
            std::vector<int64_t>{first_.snapshot});
  EXPECT_TRUE(ResolveLineageRef(store_.get(), "iris@9").status().IsNotFound());
  // A name in parts holds '/', which RUN/step/output also has.
  ASSERT_TRUE(store_->PutSnapshot({"team/iris", 4, first_.snapshot}).ok());
  EXPECT_EQ(*ResolveLineageRef(store_.get(), "team/iris@4"),
            std::vector<int64_t>{first_.snapshot});
  EXPECT_TRUE(ResolveLineageRef(store_.get(), "run-2/evaluate/nope")
                  .status()
                  .IsNotFound());
  EXPECT_TRUE(ResolveLineageRef(store_.get(), "sha256:none")
                  .status()
                  .IsNotFound());
  EXPECT_TRUE(ResolveLineageRef(store_.get(), "what")
                  .status()
                  .IsInvalidArgument());
}

TEST_P(LineageTest, MetricsWalkUpToModelSplitSnapshotAndRawCsv) {
  auto roots = *ResolveLineageRef(store_.get(), "run-2/evaluate/metrics");
  auto graph = WalkLineage(store_.get(), roots, LineageDirection::kUp, 0);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();

  std::set<std::string> digests;
  for (const auto& [id, artifact] : graph->artifacts) {
    digests.insert(artifact.digest);
  }
  EXPECT_EQ(digests, (std::set<std::string>{
                         "sha256:metrics", "sha256:model", "sha256:train",
                         "sha256:test", "sha256:snap", "sha256:rawcsv"}));
  // Both runs' executions: four complete and four cached ones.
  int cached = 0;
  for (const auto& [id, execution] : graph->executions) {
    cached += execution.state == ExecutionState::kCached;
  }
  EXPECT_EQ(graph->executions.size(), 8u);
  EXPECT_EQ(cached, 4);

  Json json = LineageToJson(*graph);
  EXPECT_EQ(json["direction"], "up");
  EXPECT_EQ(json["roots"][0], first_.metrics);
  bool model_port = false;
  for (const Json& edge : json["edges"]) {
    model_port |= edge["port"] == "model" && edge["type"] == "input" &&
                  edge["artifact_id"] == first_.model;
  }
  EXPECT_TRUE(model_port);
}

TEST_P(LineageTest, DepthLimitsExecutionHops) {
  auto graph = *WalkLineage(store_.get(), {first_.metrics},
                            LineageDirection::kUp, 1);
  std::set<std::string> names;
  for (const auto& [id, execution] : graph.executions) {
    names.insert(execution.name);
  }
  EXPECT_EQ(names, std::set<std::string>{"evaluate"});
  EXPECT_EQ(graph.artifacts.size(), 3u);  // metrics, model, test split
}

TEST_P(LineageTest, SnapshotWalksDownToTheMetrics) {
  auto graph = *WalkLineage(store_.get(), {first_.snapshot},
                            LineageDirection::kDown, 0);
  EXPECT_TRUE(graph.artifacts.contains(first_.metrics));
  EXPECT_FALSE(graph.artifacts.contains(first_.raw));
  std::string text = LineageToText(graph);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "Dataset sha256:snap (artifact " +
                std::to_string(first_.snapshot) + ")");
  EXPECT_NE(text.find("(see above)"), std::string::npos) << text;
}

TEST_P(LineageTest, DotAndSvgNameEveryNode) {
  auto graph = *WalkLineage(store_.get(), {first_.model},
                            LineageDirection::kUp, 0);
  std::string dot = LineageToDot(graph);
  EXPECT_NE(dot.find("a" + std::to_string(first_.raw) + " -> e"),
            std::string::npos);
  auto svg = RenderDotToSvg(dot);
  ASSERT_TRUE(svg.ok()) << svg.status().ToString();
  EXPECT_NE(svg->find("<svg"), std::string::npos);
  EXPECT_NE(svg->find(">train</text>"), std::string::npos);
  EXPECT_NE(svg->find(">snapshot</text>"), std::string::npos);

  // A second render in the same process gives the same picture (it read
  // freed memory inside Graphviz when each render had its own context).
  auto again = RenderDotToSvg(dot);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *svg);
}

// A hand-drawn graph whose walks are worked out on paper:
//
//   a -> e1 -> b, c      b, c -> e2 -> d      d, a -> e3 -> f
//   f -> loop -> f       (a step that rewrites the artifact it read)
//
// so a is reached at two depths, e2 and e1 are a diamond, and the loop is
// a cycle that an unlimited walk must still finish on.
class HandGraphTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (store_ == nullptr) {
      return;
    }
    a_ = *store_->PutArtifact({.type = "Dataset", .digest = "sha256:a"});
    auto out = [](const std::string& name) {
      return Artifact{.type = "Dataset", .digest = "sha256:" + name};
    };
    auto record = [&](const std::string& name,
                      std::vector<std::pair<std::string, int64_t>> inputs,
                      std::vector<std::pair<std::string, Artifact>> outputs) {
      ExecutionRecord r;
      r.execution = {.type = "command", .name = name,
                     .state = ExecutionState::kComplete};
      r.inputs = std::move(inputs);
      r.outputs = std::move(outputs);
      EXPECT_TRUE(store_->RecordExecution(&r).ok());
      std::vector<int64_t> ids = {r.execution.id};
      for (const auto& [port, artifact] : r.outputs) {
        ids.push_back(artifact.id);
      }
      return ids;
    };
    auto e1 = record("e1", {{"a", a_}}, {{"b", out("b")}, {"c", out("c")}});
    e1_ = e1[0], b_ = e1[1], c_ = e1[2];
    auto e2 = record("e2", {{"b", b_}, {"c", c_}}, {{"d", out("d")}});
    e2_ = e2[0], d_ = e2[1];
    auto e3 = record("e3", {{"d", d_}, {"a", a_}}, {{"f", out("f")}});
    e3_ = e3[0], f_ = e3[1];
    Artifact same_f = out("f");
    same_f.id = f_;
    loop_ = record("loop", {{"in", f_}}, {{"out", same_f}})[0];
  }

  using Edge = std::tuple<int64_t, int64_t, std::string, std::string>;
  static std::vector<Edge> Edges(const LineageGraph& graph) {
    std::vector<Edge> edges;
    for (const LineageEdge& e : graph.edges) {
      edges.emplace_back(e.artifact_id, e.execution_id,
                         e.type == EventType::kInput ? "in" : "out", e.port);
    }
    return edges;
  }
  template <typename Map>
  static std::set<int64_t> Keys(const Map& map) {
    std::set<int64_t> keys;
    for (const auto& [id, node] : map) {
      keys.insert(id);
    }
    return keys;
  }

  int64_t a_ = 0, b_ = 0, c_ = 0, d_ = 0, f_ = 0;
  int64_t e1_ = 0, e2_ = 0, e3_ = 0, loop_ = 0;
};
LOCKSTEP_INSTANTIATE_BACKENDS(HandGraphTest);

TEST_P(HandGraphTest, UpWalkVisitsEachNodeOnceInBreadthFirstOrder) {
  auto graph = WalkLineage(store_.get(), {f_}, LineageDirection::kUp, 0);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  std::vector<Edge> expected = {
      // Hop 1: f's writers, then their inputs in recording order.
      {f_, e3_, "out", "f"}, {f_, loop_, "out", "out"},
      {d_, e3_, "in", "d"}, {a_, e3_, "in", "a"}, {f_, loop_, "in", "in"},
      // Hop 2: a has no writer; d's writer e2 and its inputs.
      {d_, e2_, "out", "d"}, {b_, e2_, "in", "b"}, {c_, e2_, "in", "c"},
      // Hop 3: e1 is found through both b and c, expanded once; a was
      // seen at hop 1.
      {b_, e1_, "out", "b"}, {c_, e1_, "out", "c"}, {a_, e1_, "in", "a"}};
  EXPECT_EQ(Edges(*graph), expected);
  EXPECT_EQ(Keys(graph->artifacts), (std::set<int64_t>{a_, b_, c_, d_, f_}));
  EXPECT_EQ(Keys(graph->executions),
            (std::set<int64_t>{e1_, e2_, e3_, loop_}));
  EXPECT_EQ(graph->artifacts.at(d_).digest, "sha256:d");
  EXPECT_EQ(graph->executions.at(e2_).name, "e2");
}

TEST_P(HandGraphTest, DepthCutsTheUpWalkAfterThatManyHops) {
  auto one = *WalkLineage(store_.get(), {f_}, LineageDirection::kUp, 1);
  EXPECT_EQ(Edges(one).size(), 5u);
  EXPECT_EQ(Keys(one.artifacts), (std::set<int64_t>{a_, d_, f_}));
  EXPECT_EQ(Keys(one.executions), (std::set<int64_t>{e3_, loop_}));

  auto two = *WalkLineage(store_.get(), {f_}, LineageDirection::kUp, 2);
  std::vector<Edge> expected = {
      {f_, e3_, "out", "f"}, {f_, loop_, "out", "out"},
      {d_, e3_, "in", "d"}, {a_, e3_, "in", "a"}, {f_, loop_, "in", "in"},
      {d_, e2_, "out", "d"}, {b_, e2_, "in", "b"}, {c_, e2_, "in", "c"}};
  EXPECT_EQ(Edges(two), expected);
  EXPECT_EQ(Keys(two.artifacts), (std::set<int64_t>{a_, b_, c_, d_, f_}));
  EXPECT_EQ(Keys(two.executions), (std::set<int64_t>{e2_, e3_, loop_}));
}

TEST_P(HandGraphTest, DownWalkFromTheSourceReachesEverything) {
  auto graph = *WalkLineage(store_.get(), {a_}, LineageDirection::kDown, 0);
  std::vector<Edge> expected = {
      {a_, e1_, "in", "a"}, {a_, e3_, "in", "a"},
      {b_, e1_, "out", "b"}, {c_, e1_, "out", "c"}, {f_, e3_, "out", "f"},
      {b_, e2_, "in", "b"}, {c_, e2_, "in", "c"}, {f_, loop_, "in", "in"},
      {d_, e2_, "out", "d"}, {f_, loop_, "out", "out"},
      // d feeds e3, already expanded at hop 1: the edge, nothing more.
      {d_, e3_, "in", "d"}};
  EXPECT_EQ(Edges(graph), expected);
  EXPECT_EQ(Keys(graph.executions),
            (std::set<int64_t>{e1_, e2_, e3_, loop_}));
}

TEST_P(HandGraphTest, UnknownRootsAreKeptAsRootsButHaveNoNodes) {
  int64_t missing = f_ + 1000;
  auto graph = *WalkLineage(store_.get(), {missing, d_, d_},
                            LineageDirection::kUp, 1);
  EXPECT_EQ(graph.roots, (std::vector<int64_t>{missing, d_, d_}));
  EXPECT_EQ(Keys(graph.artifacts), (std::set<int64_t>{b_, c_, d_}));
  std::vector<Edge> expected = {{d_, e2_, "out", "d"},
                                {b_, e2_, "in", "b"},
                                {c_, e2_, "in", "c"}};
  EXPECT_EQ(Edges(graph), expected);
}

// The same records on SQLite and on PostgreSQL give the same lineage.
TEST(LineageBackendsTest, IdenticalOnBothBackends) {
  auto dir = *MakeTempDirectory(std::filesystem::temp_directory_path(),
                                "lineage-both-");
  auto server = testing::SharedPostgres();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::vector<std::string> urls = {(dir / "m.db").string(),
                                   *(*server)->CreateDatabase()};
  std::vector<std::string> outputs;
  for (const std::string& url : urls) {
    auto store = *MetadataStore::Open(url);
    ExampleIds first = RecordExampleRun(store.get(), "run-1", nullptr);
    RecordExampleRun(store.get(), "run-2", &first);
    auto roots = *ResolveLineageRef(store.get(), "run-2/evaluate/metrics");
    auto graph = *WalkLineage(store.get(), roots, LineageDirection::kUp, 0);
    Json json = LineageToJson(graph);
    outputs.push_back(LineageToText(graph) + json.dump());
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  RemoveAllQuietly(dir);
}

}  // namespace
}  // namespace lockstep::metadata
