// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/lineage.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <algorithm>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "core/dynamic_library.h"
#include "metadata/run_view.h"

namespace lockstep::metadata {

namespace {

// The Graphviz functions RenderDotToSvg calls, opened on the first SVG
// render (core/dynamic_library.h says why they are not linked).
struct GraphvizApi {
  decltype(&gvContext) context;
  decltype(&gvLayout) layout;
  decltype(&gvRenderData) render_data;
  decltype(&gvFreeRenderData) free_render_data;
  decltype(&gvFreeLayout) free_layout;
  decltype(&agmemread) memread;
  decltype(&agclose) close;
};

Result<GraphvizApi> BindGraphviz() {
  ASSIGN_OR_RETURN(DynamicLibrary cgraph,
                   DynamicLibrary::Open("libcgraph.so.6", "libcgraph6"));
  ASSIGN_OR_RETURN(DynamicLibrary gvc,
                   DynamicLibrary::Open("libgvc.so.6", "libgvc6"));
  GraphvizApi api;
  gvc.Bind(api.context, "gvContext");
  gvc.Bind(api.layout, "gvLayout");
  gvc.Bind(api.render_data, "gvRenderData");
  gvc.Bind(api.free_render_data, "gvFreeRenderData");
  gvc.Bind(api.free_layout, "gvFreeLayout");
  cgraph.Bind(api.memread, "agmemread");
  cgraph.Bind(api.close, "agclose");
  RETURN_IF_ERROR(cgraph.status());
  RETURN_IF_ERROR(gvc.status());
  return api;
}

// Opens Graphviz once per process; later calls return the same table or
// the same error.
Result<const GraphvizApi*> LoadGraphviz() {
  return LoadOnce<GraphvizApi, BindGraphviz>();
}

bool AllDigits(const std::string& text) {
  return !text.empty() && text.size() < 19 &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

Result<std::vector<int64_t>> ResolveRunOutput(MetadataStore* store,
                                              const std::string& ref) {
  size_t last = ref.rfind('/');
  size_t middle = ref.rfind('/', last - 1);
  if (middle == std::string::npos || middle == 0 || last == ref.size() - 1 ||
      last == middle + 1) {
    return Status::InvalidArgument("lineage reference '" + ref +
                                   "': expected RUN/step/output");
  }
  std::string run_id = ref.substr(0, middle);
  std::string step = ref.substr(middle + 1, last - middle - 1);
  std::string port = ref.substr(last + 1);

  ASSIGN_OR_RETURN(Run run, store->GetRun(run_id));
  ASSIGN_OR_RETURN(auto executions, store->ExecutionsInContext(run.context_id));
  std::vector<int64_t> step_ids;
  for (const Execution& execution : executions) {
    if (execution.name == step) {
      step_ids.push_back(execution.id);
    }
  }
  if (step_ids.empty()) {
    return Status::NotFound("run " + run_id + " has no step '" + step + "'");
  }
  ASSIGN_OR_RETURN(auto events,
                   store->EventsOfExecutions(step_ids, EventType::kOutput));
  std::vector<int64_t> ids;
  for (const Event& event : events) {
    if (event.port == port &&
        std::find(ids.begin(), ids.end(), event.artifact_id) == ids.end()) {
      ids.push_back(event.artifact_id);
    }
  }
  if (ids.empty()) {
    return Status::NotFound("step '" + step + "' of run " + run_id +
                            " has no output '" + port + "'");
  }
  return ids;
}

Result<std::vector<int64_t>> ResolveSnapshot(MetadataStore* store,
                                             const std::string& ref) {
  size_t at = ref.rfind('@');
  std::string name = ref.substr(0, at);
  std::string version = ref.substr(at + 1);
  if (name.empty() || !AllDigits(version)) {
    return Status::InvalidArgument("lineage reference '" + ref +
                                   "': expected NAME@VERSION, e.g. iris@1");
  }
  ASSIGN_OR_RETURN(Snapshot snapshot,
                   store->GetSnapshot(name, std::stoll(version)));
  return std::vector<int64_t>{snapshot.artifact_id};
}

// The ids of `wanted` not in `visited`, in ascending order.
std::vector<int64_t> Unvisited(const std::set<int64_t>& wanted,
                               const std::set<int64_t>& visited) {
  std::vector<int64_t> fresh;
  for (int64_t id : wanted) {
    if (!visited.contains(id)) {
      fresh.push_back(id);
    }
  }
  return fresh;
}

std::string Short(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(0, 19) + "…" : digest;
}

std::string ArtifactLine(const Artifact& artifact) {
  std::string line = fmt::format("{} {} (artifact {})", artifact.type,
                                 Short(artifact.digest), artifact.id);
  if (!artifact.uri.empty()) {
    line += " " + artifact.uri;
  }
  if (artifact.state != "live") {
    line += " [" + artifact.state + "]";
  }
  return line;
}

std::string ExecutionLine(const Execution& execution) {
  return fmt::format("{} [{}] {} (execution {})", execution.name,
                     execution.type, ExecutionStateName(execution.state),
                     execution.id);
}

// Prints the tree below one node; shared by both directions through the
// adjacency lists built in LineageToText.
struct TreePrinter {
  const LineageGraph& graph;
  std::multimap<int64_t, const LineageEdge*> below_artifact;
  std::multimap<int64_t, const LineageEdge*> below_execution;
  std::set<std::string> printed;
  std::string out;

  void Artifact(int64_t id, const std::string& port,
                const std::string& prefix, const std::string& child_prefix) {
    std::string label = port.empty() ? "" : port + ": ";
    std::string key = "a" + std::to_string(id);
    out += prefix + label + ArtifactLine(graph.artifacts.at(id));
    if (!printed.insert(key).second) {
      out += below_artifact.contains(id) ? " (see above)\n" : "\n";
      return;
    }
    out += "\n";
    auto [begin, end] = below_artifact.equal_range(id);
    for (auto it = begin; it != end; ++it) {
      bool last = std::next(it) == end;
      Execution(it->second->execution_id,
                child_prefix + (last ? "└─ " : "├─ "),
                child_prefix + (last ? "   " : "│  "));
    }
  }

  void Execution(int64_t id, const std::string& prefix,
                 const std::string& child_prefix) {
    std::string key = "e" + std::to_string(id);
    out += prefix + ExecutionLine(graph.executions.at(id));
    if (!printed.insert(key).second) {
      out += " (see above)\n";
      return;
    }
    out += "\n";
    auto [begin, end] = below_execution.equal_range(id);
    for (auto it = begin; it != end; ++it) {
      bool last = std::next(it) == end;
      Artifact(it->second->artifact_id, it->second->port,
               child_prefix + (last ? "└─ " : "├─ "),
               child_prefix + (last ? "   " : "│  "));
    }
  }
};

std::string DotEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

}  // namespace

Result<std::vector<int64_t>> ResolveLineageRef(MetadataStore* store,
                                               const std::string& ref) {
  if (ref.starts_with("sha256:")) {
    ASSIGN_OR_RETURN(auto artifacts, store->FindArtifactsByDigest(ref));
    if (artifacts.empty()) {
      return Status::NotFound("no artifact with digest " + ref);
    }
    std::vector<int64_t> ids;
    for (const Artifact& artifact : artifacts) {
      ids.push_back(artifact.id);
    }
    return ids;
  }
  if (AllDigits(ref)) {
    ASSIGN_OR_RETURN(Artifact artifact, store->GetArtifact(std::stoll(ref)));
    return std::vector<int64_t>{artifact.id};
  }
  // Before the '/' test: a snapshot's name may hold '/' (team/iris@1),
  // and no run id, step or output name holds '@'.
  if (ref.find('@') != std::string::npos) {
    return ResolveSnapshot(store, ref);
  }
  if (std::count(ref.begin(), ref.end(), '/') >= 2) {
    return ResolveRunOutput(store, ref);
  }
  return Status::InvalidArgument(
      "lineage reference '" + ref +
      "': expected a digest (sha256:...), an artifact id, RUN/step/output "
      "or a snapshot NAME@VERSION");
}

Result<LineageGraph> WalkLineage(MetadataStore* store,
                                 const std::vector<int64_t>& roots,
                                 LineageDirection direction, int depth) {
  LineageGraph graph;
  graph.direction = direction;
  graph.depth = depth;
  graph.roots = roots;

  // Up: artifact <- output event <- execution <- input events <- artifacts.
  // Down: artifact -> input events -> execution -> output events -> ...
  // One recursive query returns every event the walk can cross; the
  // breadth-first walk below then runs in memory, hop by hop, taking each
  // hop's events in event-id order and visiting each node once.
  const bool up = direction == LineageDirection::kUp;
  const EventType toward_execution = up ? EventType::kOutput
                                        : EventType::kInput;
  ASSIGN_OR_RETURN(auto events,
                   store->EventsWithinHops(roots, toward_execution, depth));
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::multimap<int64_t, const Event*> from_artifact;   // In id order.
  std::multimap<int64_t, const Event*> from_execution;
  for (const auto& [id, event] : events) {
    if (event.type == toward_execution) {
      from_artifact.emplace(event.artifact_id, &event);
    } else {
      from_execution.emplace(event.execution_id, &event);
    }
  }

  // Events of a set of nodes, merged back into event-id order.
  auto events_of = [](const std::multimap<int64_t, const Event*>& index,
                      const std::vector<int64_t>& ids) {
    std::vector<const Event*> found;
    for (int64_t id : ids) {
      auto [begin, end] = index.equal_range(id);
      for (auto it = begin; it != end; ++it) {
        found.push_back(it->second);
      }
    }
    std::sort(found.begin(), found.end());  // Pointers follow event order.
    return found;
  };

  std::set<int64_t> artifact_ids(roots.begin(), roots.end());
  std::set<int64_t> execution_ids;
  std::vector<int64_t> frontier(artifact_ids.begin(), artifact_ids.end());
  for (int hop = 0; !frontier.empty() && (depth <= 0 || hop < depth); ++hop) {
    std::set<int64_t> reached;
    for (const Event* event : events_of(from_artifact, frontier)) {
      graph.edges.push_back({event->artifact_id, event->execution_id,
                             event->type, event->port});
      reached.insert(event->execution_id);
    }
    std::vector<int64_t> fresh = Unvisited(reached, execution_ids);
    execution_ids.insert(fresh.begin(), fresh.end());

    std::set<int64_t> next;
    for (const Event* event : events_of(from_execution, fresh)) {
      graph.edges.push_back({event->artifact_id, event->execution_id,
                             event->type, event->port});
      next.insert(event->artifact_id);
    }
    frontier = Unvisited(next, artifact_ids);
    artifact_ids.insert(frontier.begin(), frontier.end());
  }

  // The nodes, in two queries (roots that name no artifact drop out here,
  // and have no events).
  ASSIGN_OR_RETURN(auto artifacts,
                   store->GetArtifacts({artifact_ids.begin(),
                                        artifact_ids.end()}));
  for (Artifact& artifact : artifacts) {
    graph.artifacts.emplace(artifact.id, std::move(artifact));
  }
  ASSIGN_OR_RETURN(auto executions,
                   store->GetExecutions({execution_ids.begin(),
                                         execution_ids.end()}));
  for (Execution& execution : executions) {
    graph.executions.emplace(execution.id, std::move(execution));
  }
  return graph;
}

std::string LineageToText(const LineageGraph& graph) {
  TreePrinter printer{graph, {}, {}, {}, {}};
  const bool up = graph.direction == LineageDirection::kUp;
  for (const LineageEdge& edge : graph.edges) {
    bool execution_side = (edge.type == EventType::kOutput) == up;
    if (execution_side) {
      printer.below_artifact.emplace(edge.artifact_id, &edge);
    } else {
      printer.below_execution.emplace(edge.execution_id, &edge);
    }
  }
  for (int64_t root : graph.roots) {
    if (graph.artifacts.contains(root)) {
      printer.Artifact(root, "", "", "");
    }
  }
  return printer.out;
}

Json LineageToJson(const LineageGraph& graph) {
  Json artifacts = Json::array();
  for (const auto& [id, artifact] : graph.artifacts) {
    artifacts.push_back({{"artifact_id", id},
                         {"type", artifact.type},
                         {"uri", artifact.uri},
                         {"digest", artifact.digest},
                         {"state", artifact.state},
                         {"properties", artifact.properties}});
  }
  Json executions = Json::array();
  for (const auto& [id, execution] : graph.executions) {
    executions.push_back(
        {{"execution_id", id},
         {"type", execution.type},
         {"name", execution.name},
         {"state", std::string(ExecutionStateName(execution.state))},
         {"cache_key", RecordedCacheKey(execution)}});
  }
  Json edges = Json::array();
  for (const LineageEdge& edge : graph.edges) {
    edges.push_back(
        {{"artifact_id", edge.artifact_id},
         {"execution_id", edge.execution_id},
         {"type", edge.type == EventType::kInput ? "input" : "output"},
         {"port", edge.port}});
  }
  return {{"direction",
           graph.direction == LineageDirection::kUp ? "up" : "down"},
          {"depth", graph.depth},
          {"roots", graph.roots},
          {"artifacts", artifacts},
          {"executions", executions},
          {"edges", edges}};
}

std::string LineageToDot(const LineageGraph& graph) {
  std::string dot = "digraph lineage {\n  rankdir=LR;\n"
                    "  node [fontname=\"Helvetica\", fontsize=10];\n";
  for (const auto& [id, artifact] : graph.artifacts) {
    dot += fmt::format("  a{} [shape=ellipse, label=\"{}\\n{}\"];\n", id,
                       DotEscape(artifact.type),
                       DotEscape(Short(artifact.digest)));
  }
  for (const auto& [id, execution] : graph.executions) {
    dot += fmt::format("  e{} [shape=box, label=\"{}\\n{} ({})\"];\n", id,
                       DotEscape(execution.name), DotEscape(execution.type),
                       ExecutionStateName(execution.state));
  }
  for (const LineageEdge& edge : graph.edges) {
    if (edge.type == EventType::kInput) {
      dot += fmt::format("  a{} -> e{} [label=\"{}\"];\n", edge.artifact_id,
                         edge.execution_id, DotEscape(edge.port));
    } else {
      dot += fmt::format("  e{} -> a{} [label=\"{}\"];\n", edge.execution_id,
                         edge.artifact_id, DotEscape(edge.port));
    }
  }
  return dot + "}\n";
}

Result<std::string> RenderDotToSvg(const std::string& dot) {
  ASSIGN_OR_RETURN(const GraphvizApi* api, LoadGraphviz());
  const GraphvizApi& gv = *api;
  // One Graphviz context for the whole process, never freed: after
  // gvFreeContext, the next context's pango plugin compares font names
  // against freed memory (ASan: heap-use-after-free in textspan_size on
  // the second render). Graphviz is not thread-safe, hence the lock.
  static std::mutex mutex;
  static GVC_t* const context = gv.context();
  std::lock_guard<std::mutex> lock(mutex);
  if (context == nullptr) {
    return Status::Internal("Graphviz: cannot create a context");
  }
  Agraph_t* g = gv.memread(dot.c_str());
  if (g == nullptr) {
    return Status::Internal("Graphviz: cannot parse the lineage graph");
  }
  std::string svg;
  Status status;
  if (gv.layout(context, g, "dot") != 0) {
    status = Status::Internal("Graphviz: the dot layout failed (is the "
                              "graphviz package installed?)");
  } else {
    char* data = nullptr;
    unsigned int size = 0;
    if (gv.render_data(context, g, "svg", &data, &size) != 0) {
      status = Status::Internal("Graphviz: SVG rendering failed");
    } else {
      svg.assign(data, size);
    }
    gv.free_render_data(data);
    gv.free_layout(context, g);
  }
  gv.close(g);
  RETURN_IF_ERROR(status);
  return svg;
}

}  // namespace lockstep::metadata
