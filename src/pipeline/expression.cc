// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/expression.h"

#include <cctype>

namespace lockstep::pipeline {

struct ExpressionNode {
  enum class Kind { kLiteral, kReference, kNot, kBinary };
  Kind kind = Kind::kLiteral;
  Json literal;
  std::string reference;
  std::string op;
  std::shared_ptr<const ExpressionNode> left;
  std::shared_ptr<const ExpressionNode> right;
};

namespace {

using NodePtr = std::shared_ptr<const ExpressionNode>;

// A recursive-descent parser over the raw text; `position_` is the next
// unread character.
class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  Result<NodePtr> ParseAll() {
    ASSIGN_OR_RETURN(NodePtr node, ParseOr());
    SkipSpace();
    if (position_ != text_.size()) {
      return Error("unexpected '" + text_.substr(position_, 1) + "'");
    }
    return node;
  }

  std::vector<std::string> references;
  size_t position_ = 0;

 private:
  Status Error(const std::string& message) {
    return Status::InvalidArgument(message + " at character " +
                                   std::to_string(position_ + 1) + " of '" +
                                   text_ + "'");
  }

  void SkipSpace() {
    while (position_ < text_.size() &&
           std::isspace(static_cast<unsigned char>(text_[position_]))) {
      ++position_;
    }
  }

  bool Consume(const std::string& token) {
    SkipSpace();
    if (text_.compare(position_, token.size(), token) == 0) {
      position_ += token.size();
      return true;
    }
    return false;
  }

  static NodePtr Binary(const std::string& op, NodePtr left, NodePtr right) {
    auto node = std::make_shared<ExpressionNode>();
    node->kind = ExpressionNode::Kind::kBinary;
    node->op = op;
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  Result<NodePtr> ParseOr() {
    ASSIGN_OR_RETURN(NodePtr left, ParseAnd());
    while (Consume("||")) {
      ASSIGN_OR_RETURN(NodePtr right, ParseAnd());
      left = Binary("||", left, right);
    }
    return left;
  }

  Result<NodePtr> ParseAnd() {
    ASSIGN_OR_RETURN(NodePtr left, ParseNot());
    while (Consume("&&")) {
      ASSIGN_OR_RETURN(NodePtr right, ParseNot());
      left = Binary("&&", left, right);
    }
    return left;
  }

  Result<NodePtr> ParseNot() {
    SkipSpace();
    if (position_ < text_.size() && text_[position_] == '!' &&
        text_.compare(position_, 2, "!=") != 0) {
      ++position_;
      ASSIGN_OR_RETURN(NodePtr operand, ParseNot());
      auto node = std::make_shared<ExpressionNode>();
      node->kind = ExpressionNode::Kind::kNot;
      node->left = operand;
      return NodePtr(node);
    }
    return ParseComparison();
  }

  Result<NodePtr> ParseComparison() {
    ASSIGN_OR_RETURN(NodePtr left, ParsePrimary());
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (Consume(op)) {
        ASSIGN_OR_RETURN(NodePtr right, ParsePrimary());
        return Binary(op, left, right);
      }
    }
    return left;
  }

  Result<NodePtr> ParseString(char quote) {
    ++position_;
    std::string value;
    while (position_ < text_.size() && text_[position_] != quote) {
      value.push_back(text_[position_++]);
    }
    if (position_ >= text_.size()) {
      return Error("unterminated string");
    }
    ++position_;
    auto node = std::make_shared<ExpressionNode>();
    node->literal = value;
    return NodePtr(node);
  }

  Result<NodePtr> ParseNumber() {
    size_t start = position_;
    if (text_[position_] == '-' || text_[position_] == '+') {
      ++position_;
    }
    bool is_float = false;
    while (position_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[position_])) ||
            text_[position_] == '.' || text_[position_] == 'e' ||
            text_[position_] == 'E' ||
            ((text_[position_] == '-' || text_[position_] == '+') &&
             (text_[position_ - 1] == 'e' || text_[position_ - 1] == 'E')))) {
      is_float |= !std::isdigit(static_cast<unsigned char>(text_[position_]));
      ++position_;
    }
    std::string number = text_.substr(start, position_ - start);
    auto node = std::make_shared<ExpressionNode>();
    try {
      node->literal = is_float ? Json(std::stod(number))
                               : Json(static_cast<int64_t>(std::stoll(number)));
    } catch (const std::exception&) {
      position_ = start;
      return Error("bad number '" + number + "'");
    }
    return NodePtr(node);
  }

  Result<NodePtr> ParseWord() {
    size_t start = position_;
    while (position_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[position_])) ||
            text_[position_] == '_' || text_[position_] == '.' ||
            text_[position_] == '-')) {
      ++position_;
    }
    std::string word = text_.substr(start, position_ - start);
    auto node = std::make_shared<ExpressionNode>();
    if (word == "true" || word == "false") {
      node->literal = word == "true";
    } else if (word == "null") {
      node->literal = nullptr;
    } else if (word.empty() || word.back() == '.' ||
               word.find("..") != std::string::npos ||
               (word.find('.') == std::string::npos && word != "item")) {
      position_ = start;
      return Error(word.empty() ? "expected a value"
                                : "'" + word +
                                      "' is not a reference such as "
                                      "params.NAME");
    } else {
      node->kind = ExpressionNode::Kind::kReference;
      node->reference = word;
      references.push_back(word);
    }
    return NodePtr(node);
  }

  Result<NodePtr> ParsePrimary() {
    SkipSpace();
    if (position_ >= text_.size()) {
      return Error("expected a value");
    }
    char c = text_[position_];
    if (c == '(') {
      ++position_;
      ASSIGN_OR_RETURN(NodePtr inner, ParseOr());
      if (!Consume(")")) {
        return Error("expected ')'");
      }
      return inner;
    }
    if (c == '\'' || c == '"') {
      return ParseString(c);
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' ||
        c == '.') {
      return ParseNumber();
    }
    return ParseWord();
  }

  const std::string& text_;
};

Result<Json> Compare(const std::string& op, const Json& a, const Json& b) {
  if (op == "==") {
    return Json(a == b);
  }
  if (op == "!=") {
    return Json(a != b);
  }
  bool numbers = a.is_number() && b.is_number();
  bool strings = a.is_string() && b.is_string();
  if (!numbers && !strings) {
    return Status::InvalidArgument("cannot order " + a.dump() + " and " +
                                   b.dump() + " with " + op);
  }
  if (op == "<") {
    return Json(a < b);
  }
  if (op == "<=") {
    return Json(a <= b);
  }
  if (op == ">") {
    return Json(a > b);
  }
  return Json(a >= b);
}

Result<Json> EvaluateNode(const ExpressionNode& node,
                          const Expression::Resolver& resolve) {
  switch (node.kind) {
    case ExpressionNode::Kind::kLiteral:
      return node.literal;
    case ExpressionNode::Kind::kReference:
      return resolve(node.reference);
    case ExpressionNode::Kind::kNot: {
      ASSIGN_OR_RETURN(Json value, EvaluateNode(*node.left, resolve));
      return Json(!IsTruthy(value));
    }
    case ExpressionNode::Kind::kBinary:
      break;
  }
  ASSIGN_OR_RETURN(Json left, EvaluateNode(*node.left, resolve));
  if (node.op == "&&" && !IsTruthy(left)) {
    return Json(false);
  }
  if (node.op == "||" && IsTruthy(left)) {
    return Json(true);
  }
  ASSIGN_OR_RETURN(Json right, EvaluateNode(*node.right, resolve));
  if (node.op == "&&" || node.op == "||") {
    return Json(IsTruthy(right));
  }
  return Compare(node.op, left, right);
}

}  // namespace

Result<Expression> Expression::Parse(const std::string& text,
                                     int* error_column) {
  Parser parser(text);
  Result<NodePtr> root = parser.ParseAll();
  if (!root.ok()) {
    if (error_column != nullptr) {
      *error_column = static_cast<int>(parser.position_) + 1;
    }
    return root.status();
  }
  Expression expression;
  expression.text_ = text;
  expression.root_ = *root;
  expression.references_ = parser.references;
  return expression;
}

std::optional<std::string> Expression::BareReference() const {
  if (root_->kind != ExpressionNode::Kind::kReference) return std::nullopt;
  return root_->reference;
}

Result<Json> Expression::Evaluate(const Resolver& resolve) const {
  return EvaluateNode(*root_, resolve);
}

bool IsTruthy(const Json& value) {
  if (value.is_boolean()) {
    return value.get<bool>();
  }
  if (value.is_null()) {
    return false;
  }
  if (value.is_number()) {
    return value.get<double>() != 0;
  }
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    return !s.empty() && s != "false";
  }
  return !value.empty();
}

Result<std::vector<TemplatePart>> ParseTemplate(const std::string& text,
                                                int* error_column) {
  std::vector<TemplatePart> parts;
  size_t position = 0;
  while (position < text.size()) {
    size_t open = text.find("${{", position);
    if (open == std::string::npos) {
      parts.push_back({false, text.substr(position), nullptr,
                       static_cast<int>(position) + 1});
      break;
    }
    if (open > position) {
      parts.push_back({false, text.substr(position, open - position),
                       nullptr, static_cast<int>(position) + 1});
    }
    size_t close = text.find("}}", open + 3);
    if (close == std::string::npos) {
      if (error_column != nullptr) {
        *error_column = static_cast<int>(open) + 1;
      }
      return Status::InvalidArgument("unterminated '${{' in '" + text + "'");
    }
    int inner_column = 0;
    Result<Expression> expression =
        Expression::Parse(text.substr(open + 3, close - open - 3),
                          &inner_column);
    if (!expression.ok()) {
      if (error_column != nullptr) {
        *error_column = static_cast<int>(open) + 3 + inner_column;
      }
      return expression.status();
    }
    parts.push_back({true, "",
                     std::make_shared<Expression>(std::move(*expression)),
                     static_cast<int>(open) + 1});
    position = close + 2;
  }
  return parts;
}

}  // namespace lockstep::pipeline
