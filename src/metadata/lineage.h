// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Lineage queries: which data, code and parameters produced an artifact
// (upstream), and what an artifact fed (downstream). A reference is
// resolved to artifacts, one recursive query fetches the events within
// reach, the event graph is walked in memory one execution hop at a time,
// two more queries fetch the visited nodes, and the visited subgraph is
// rendered as an indented tree, JSON, Graphviz DOT or SVG
// (docs/lineage.md).

#ifndef LOCKSTEP_METADATA_LINEAGE_H_
#define LOCKSTEP_METADATA_LINEAGE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "metadata/metadata_store.h"

namespace lockstep::metadata {

enum class LineageDirection { kUp, kDown };

// An event edge between an execution and an artifact, with its port.
struct LineageEdge {
  int64_t artifact_id = 0;
  int64_t execution_id = 0;
  EventType type = EventType::kInput;
  std::string port;
};

// The part of the lineage graph a walk visited.
struct LineageGraph {
  LineageDirection direction = LineageDirection::kUp;
  int depth = 0;                       // The hop limit the walk used.
  std::vector<int64_t> roots;          // Artifact ids the reference named.
  std::map<int64_t, Artifact> artifacts;
  std::map<int64_t, Execution> executions;
  std::vector<LineageEdge> edges;      // In discovery order.
};

// Resolves a reference to artifact ids: "sha256:..." (every artifact with
// that digest), a decimal artifact id, "RUN/step/output" (the artifact a
// step of a run wrote on that output port) or a snapshot "NAME@V".
// NotFound when nothing matches; InvalidArgument for another form.
Result<std::vector<int64_t>> ResolveLineageRef(MetadataStore* store,
                                               const std::string& ref);

// Walks from `roots` up to `depth` execution hops (0: no limit), visiting
// each node once.
Result<LineageGraph> WalkLineage(MetadataStore* store,
                                 const std::vector<int64_t>& roots,
                                 LineageDirection direction, int depth);

// An indented tree per root; a node met again prints "(see above)".
std::string LineageToText(const LineageGraph& graph);

// {"direction", "depth", "roots", "artifacts": [...], "executions": [...],
//  "edges": [...]} (docs/lineage.md).
Json LineageToJson(const LineageGraph& graph);

// A Graphviz digraph in data-flow direction (artifact -> execution ->
// artifact), artifacts as ellipses and executions as boxes.
std::string LineageToDot(const LineageGraph& graph);

// Lays out DOT text with Graphviz's "dot" engine and renders SVG.
Result<std::string> RenderDotToSvg(const std::string& dot);

}  // namespace lockstep::metadata

#endif  // LOCKSTEP_METADATA_LINEAGE_H_
