// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/dag.h"

#include <map>

#include "pipeline/expression.h"

namespace lockstep::pipeline {

namespace {

// Returns "s" for a reference "steps.s.outputs.o", else "".
std::string StepOfReference(const std::string& reference) {
  if (!reference.starts_with("steps.")) {
    return "";
  }
  size_t end = reference.find('.', 6);
  return reference.substr(6, end == std::string::npos ? end : end - 6);
}

enum class Mark { kUnvisited, kVisiting, kDone };

struct CycleFinder {
  const PipelineSpec& spec;
  std::map<std::string, size_t> index_of;
  std::vector<Mark> marks;
  std::vector<size_t> order;
  std::vector<size_t> stack;

  Status Visit(size_t index) {
    if (marks[index] == Mark::kDone) {
      return Status::Ok();
    }
    if (marks[index] == Mark::kVisiting) {
      return CycleError(index);
    }
    marks[index] = Mark::kVisiting;
    stack.push_back(index);
    for (const std::string& dependency :
         StepDependencies(spec.steps[index])) {
      auto found = index_of.find(dependency);
      if (found != index_of.end()) {
        RETURN_IF_ERROR(Visit(found->second));
      }
    }
    stack.pop_back();
    marks[index] = Mark::kDone;
    order.push_back(index);
    return Status::Ok();
  }

  Status CycleError(size_t index) {
    std::string path;
    bool on_cycle = false;
    for (size_t member : stack) {
      on_cycle |= member == index;
      if (on_cycle) {
        path += spec.steps[member].name + " -> ";
      }
    }
    path += spec.steps[index].name;
    return SpecError(spec.steps[index].where,
                     "steps form a cycle: " + path);
  }
};

}  // namespace

std::set<std::string> StepDependencies(const StepSpec& step) {
  std::set<std::string> dependencies(step.needs.begin(), step.needs.end());
  for (const InputSpec& input : step.inputs) {
    if (input.kind == InputSpec::Kind::kStepOutput && !input.step.empty()) {
      dependencies.insert(input.step);
    }
  }
  if (step.for_each.is_string()) {
    Result<std::vector<TemplatePart>> parts =
        ParseTemplate(step.for_each.get<std::string>());
    if (parts.ok() && parts->size() == 1 && (*parts)[0].is_expression) {
      for (const std::string& reference :
           (*parts)[0].expression->references()) {
        std::string producer = StepOfReference(reference);
        if (!producer.empty()) {
          dependencies.insert(producer);
        }
      }
    }
  }
  if (!step.condition.empty()) {
    Result<Expression> condition = Expression::Parse(step.condition);
    if (condition.ok()) {
      for (const std::string& reference : condition->references()) {
        std::string producer = StepOfReference(reference);
        if (!producer.empty()) {
          dependencies.insert(producer);
        }
      }
    }
  }
  return dependencies;
}

Result<std::vector<size_t>> TopologicalOrder(const PipelineSpec& spec) {
  CycleFinder finder{spec, {}, {}, {}, {}};
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    finder.index_of[spec.steps[i].name] = i;
  }
  finder.marks.assign(spec.steps.size(), Mark::kUnvisited);
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    RETURN_IF_ERROR(finder.Visit(i));
  }
  return finder.order;
}

}  // namespace lockstep::pipeline
