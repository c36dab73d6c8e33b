// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The small expression language of `if:` conditions and `${{ ... }}`
// substitutions. Values are JSON. A reference is a dotted path:
// `params.NAME`, `steps.STEP.outputs.OUTPUT` (the output file's content,
// read as JSON when it parses, else as trimmed text), `inputs.NAME` and
// `outputs.NAME` (paths inside the step, in substitutions only), `item`
// and `item.FIELD` (the current for_each item) and `run.status` (in
// finally: steps).
// Operators: == != < <= > >= && || ! and parentheses; literals: numbers,
// 'single' or "double" quoted strings, true, false, null.

#ifndef LOCKSTEP_PIPELINE_EXPRESSION_H_
#define LOCKSTEP_PIPELINE_EXPRESSION_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace lockstep::pipeline {

using Json = nlohmann::json;

struct ExpressionNode;

class Expression {
 public:
  // Parses `text`. InvalidArgument with the 1-based character offset of
  // the problem (`*error_column`) for bad syntax.
  static Result<Expression> Parse(const std::string& text,
                                  int* error_column = nullptr);

  // Every dotted reference the expression reads, e.g. "params.seed".
  const std::vector<std::string>& references() const { return references_; }

  // Evaluates with `resolve` looking up references.
  using Resolver = std::function<Result<Json>(const std::string&)>;
  Result<Json> Evaluate(const Resolver& resolve) const;

  const std::string& text() const { return text_; }

  // The reference when the whole expression is one ("params.xs"), else
  // nothing: the only expression whose value can be a list (operators
  // give booleans, literals scalars).
  std::optional<std::string> BareReference() const;

 private:
  std::string text_;
  std::shared_ptr<const ExpressionNode> root_;
  std::vector<std::string> references_;
};

// JavaScript-like truthiness: false, null, 0, "" and "false" are false.
bool IsTruthy(const Json& value);

// A piece of a template string: literal text or an expression.
struct TemplatePart {
  bool is_expression = false;
  std::string literal;
  std::shared_ptr<Expression> expression;
  int column = 0;  // 1-based start of the part in the template.
};

// Splits "a ${{ params.x }} b" into parts. InvalidArgument for an
// unterminated `${{` or a bad expression (with `*error_column`).
Result<std::vector<TemplatePart>> ParseTemplate(const std::string& text,
                                                int* error_column = nullptr);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_EXPRESSION_H_
