// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "manifest/manifest.h"

#include "core/canonical_json.h"
#include "core/digest.h"
#include "core/clock.h"
#include "core/files.h"

namespace lockstep::manifest {

namespace {

std::string PolicyName(pipeline::ReproducePolicy policy) {
  switch (policy) {
    case pipeline::ReproducePolicy::kExact:
      return "exact";
    case pipeline::ReproducePolicy::kTolerance:
      return "tolerance";
    case pipeline::ReproducePolicy::kIgnore:
      return "ignore";
  }
  return "exact";
}

// An output's digest; null for one the step never made (it was skipped,
// failed or cancelled).
Json DigestOrNull(const std::map<std::string, Digest>& outputs,
                  const std::string& name) {
  auto digest = outputs.find(name);
  return digest == outputs.end() ? Json(nullptr)
                                 : Json(digest->second.ToString());
}

Json StepEntry(const pipeline::StepReport& step) {
  Json outputs = Json::object();
  for (const pipeline::OutputSpec& output : step.output_specs) {
    Json entry = {{"type", output.type},
                  {"reproduce", PolicyName(output.reproduce)}};
    if (output.reproduce == pipeline::ReproducePolicy::kTolerance) {
      entry["tolerance"] = output.tolerance;
    }
    entry["digest"] = DigestOrNull(step.outputs, output.name);
    if (step.folder_outputs.contains(output.name)) {
      // A reproducible tar: reproduce lists the files that differ.
      entry["folder"] = true;
    }
    outputs[output.name] = entry;
  }
  if (step.component == "lockstep/data-snapshot") {
    // Null, as for any output, when the step was skipped, failed or
    // cancelled before it took the snapshot (found by a tester: an
    // early Ctrl-C ended the run in "internal: map::at", no manifest).
    outputs["dataset"] = {{"type", "Dataset"}, {"reproduce", "exact"},
                          {"digest", DigestOrNull(step.outputs, "dataset")}};
  }

  Json inputs = Json::object();
  // The runner resolves an input's digest and its source together
  // (Runner::ResolveInputs), whatever the step's state: every input
  // here has its source.
  for (const auto& [name, digest] : step.invocation.inputs) {
    inputs[name] = {{"digest", digest.ToString()},
                    {"from", step.input_sources.at(name)}};
  }
  Json entry = {{"name", step.name},
                {"component", step.component},
                {"state", step.state},
                {"cache_key", step.cache_key.ToString()},
                {"inputs", inputs},
                {"outputs", outputs},
                {"invocation", step.invocation.ToJson()}};
  if (!step.condition.empty()) {
    entry["if"] = {{"expression", step.condition},
                   {"value", step.condition_value}};
  }
  if (!step.message.empty()) {
    entry["message"] = step.message;
  }
  if (!step.produced_by_run.empty()) {
    entry["produced_by_run"] = step.produced_by_run;
  }
  auto source = step.input_sources.find("source");
  if (step.component == "lockstep/data-snapshot" &&
      source != step.input_sources.end()) {
    entry["source"] = source->second;
  }
  return entry;
}

// Top-level fields covered by field_hashes: everything but the hashes.
std::vector<std::string> HashedFields(const Json& manifest) {
  std::vector<std::string> fields;
  for (const auto& [name, value] : manifest.items()) {
    if (name != "manifest_hash" && name != "field_hashes") {
      fields.push_back(name);
    }
  }
  return fields;
}

}  // namespace

Result<Json> BuildManifest(const pipeline::PipelineSpec& spec,
                           const pipeline::RunReport& report,
                           const ManifestContext& context) {
  Json params = Json::object();
  Json seeds = Json::object();
  for (const auto& [name, value] : report.params) {
    params[name] = pipeline::TypedParam(value);
    if (name == "seed" || name.ends_with("_seed")) {
      seeds[name] = value;
    }
  }
  Json data = Json::array();
  for (const pipeline::SnapshotUse& snapshot : report.snapshots) {
    data.push_back({{"name", snapshot.name},
                    {"version", snapshot.version},
                    {"digest", snapshot.digest.ToString()},
                    {"rows", snapshot.rows >= 0 ? Json(snapshot.rows)
                                                : Json(nullptr)},
                    {"size", snapshot.size}});
  }
  Json steps = Json::array();
  for (const pipeline::StepReport& step : report.steps) {
    steps.push_back(StepEntry(step));
  }
  Json warnings = report.warnings;
  // What the run checked of its environment: only present when the
  // pipeline declared a lockfile or image, so other manifests keep their
  // bytes.
  Json environment = context.environment;
  if (!report.lockfiles.empty()) {
    environment["lockfiles"] = report.lockfiles;
  }
  if (!report.images.empty()) {
    environment["images"] = report.images;
  }

  return Json{
      {"manifest_version", kManifestVersion},
      {"kind", "lockstep.run"},
      {"run_id", report.run_id},
      {"status", report.status},
      {"started", FormatRfc3339(report.started_ms)},
      {"finished", FormatRfc3339(report.finished_ms)},
      {"pipeline", {{"name", spec.name},
                    {"file", spec.file.filename().string()},
                    {"spec_digest", spec.spec_digest.ToString()}}},
      {"code", context.code},
      {"params", params},
      {"seeds", seeds},
      {"data", data},
      {"environment", environment},
      {"sandbox", pipeline::SandboxModeName(report.sandbox)},
      {"warnings", warnings},
      {"steps", steps},
  };
}

Result<std::map<std::string, std::string>> CanonicalFields(
    const Json& manifest) {
  std::map<std::string, std::string> fields;
  for (const std::string& field : HashedFields(manifest)) {
    ASSIGN_OR_RETURN(fields[field], CanonicalJson(manifest[field]));
  }
  return fields;
}

namespace {

// `members` (name -> canonical text, names ASCII) as one JSON object in
// name order: RFC 8785's order for ASCII names. Passed piece by piece to
// `sink`, so a hash needs no copy of a megabyte of steps.
template <typename Sink>
void JoinMembers(const std::map<std::string_view, std::string_view>& members,
                 Sink&& sink) {
  sink("{");
  bool first = true;
  for (const auto& [name, value] : members) {
    sink(first ? "\"" : ",\"");
    sink(name);
    sink("\":");
    sink(value);
    first = false;
  }
  sink("}");
}

}  // namespace

SealedFields SealFields(const std::map<std::string, std::string>& fields,
                        const std::map<std::string, std::string>& known) {
  SealedFields sealed;
  std::string hashes = "{";
  for (const auto& [name, text] : fields) {
    auto given = known.find(name);
    std::string& hash = sealed.field_hashes[name];
    hash = given != known.end() ? given->second : Sha256Of(text).ToString();
    hashes += (hashes.size() > 1 ? ",\"" : "\"") + name + "\":\"" + hash +
              "\"";
  }
  hashes += "}";

  std::map<std::string_view, std::string_view> members(fields.begin(),
                                                       fields.end());
  members["field_hashes"] = hashes;
  Sha256 hasher;
  JoinMembers(members, [&](std::string_view piece) { hasher.Update(piece); });
  sealed.manifest_hash = hasher.Finish().ToString();

  std::string quoted_hash = "\"" + sealed.manifest_hash + "\"";
  members["manifest_hash"] = quoted_hash;
  size_t size = 2;
  for (const auto& [name, value] : members) {
    size += name.size() + value.size() + 4;
  }
  sealed.text.reserve(size);
  JoinMembers(members,
              [&](std::string_view piece) { sealed.text.append(piece); });
  sealed.text += "\n";
  return sealed;
}

Result<std::string> SealManifest(Json* manifest) {
  manifest->erase("manifest_hash");
  manifest->erase("field_hashes");
  for (const auto& [name, value] : manifest->items()) {
    for (char c : name) {
      if (static_cast<unsigned char>(c) >= 0x80 || c == '"' || c == '\\' ||
          static_cast<unsigned char>(c) < 0x20) {
        return Status::InvalidArgument("manifest field names are ASCII");
      }
    }
  }
  // Each field is canonicalised once; the whole is assembled from them.
  ASSIGN_OR_RETURN(auto fields, CanonicalFields(*manifest));
  SealedFields sealed = SealFields(fields);
  Json field_hashes = Json::object();
  for (const auto& [name, hash] : sealed.field_hashes) {
    field_hashes[name] = hash;
  }
  (*manifest)["field_hashes"] = field_hashes;
  (*manifest)["manifest_hash"] = sealed.manifest_hash;
  return std::move(sealed.text);
}

Status VerifyManifestHash(const Json& manifest) {
  if (!manifest.is_object() || !manifest.contains("manifest_hash") ||
      !manifest["manifest_hash"].is_string()) {
    return Status::InvalidArgument("the manifest has no manifest_hash");
  }
  Json body = manifest;
  body.erase("manifest_hash");
  ASSIGN_OR_RETURN(Digest actual, CanonicalDigest(body));
  if (actual.ToString() == manifest["manifest_hash"]) {
    return Status::Ok();
  }

  // Name the fields that changed, using the per-field hashes.
  std::string changed;
  const Json& field_hashes = manifest.value("field_hashes", Json::object());
  for (const std::string& field : HashedFields(manifest)) {
    Result<Digest> digest = CanonicalDigest(manifest[field]);
    if (!field_hashes.contains(field) ||
        (digest.ok() && digest->ToString() != field_hashes[field])) {
      changed += (changed.empty() ? "" : ", ") + field;
    }
  }
  for (const auto& [field, hash] : field_hashes.items()) {
    if (!manifest.contains(field)) {
      changed += (changed.empty() ? "" : ", ") + field + " (removed)";
    }
  }
  if (changed.empty()) {
    changed = "manifest_hash or field_hashes";
  }
  return Status::InvalidArgument(
      "manifest hash does not match: the manifest says " +
      manifest["manifest_hash"].get<std::string>() + " but its content "
      "hashes to " + actual.ToString() + "; changed field(s): " + changed);
}

namespace {

// InvalidArgument unless the string field `name` is one of `values`.
Status RequireOneOf(const Json& manifest, const char* name,
                    std::initializer_list<const char*> values) {
  auto field = manifest.find(name);
  if (field == manifest.end() || !field->is_string()) {
    return Status::InvalidArgument(std::string(name) +
                                   ": missing or not a string");
  }
  std::string value = *field;
  std::string known;
  for (const char* allowed : values) {
    if (value == allowed) return Status::Ok();
    known += (known.empty() ? "" : ", ") + std::string(allowed);
  }
  return Status::InvalidArgument(std::string(name) + ": '" + value +
                                 "' is not one of " + known);
}

}  // namespace

Status CheckManifestKind(const Json& manifest) {
  if (!manifest.is_object() || !manifest.contains("manifest_version")) {
    return Status::InvalidArgument(
        "not a Lockstep manifest (no manifest_version)");
  }
  if (manifest["manifest_version"] != kManifestVersion) {
    return Status::InvalidArgument(
        "manifest_version " + manifest["manifest_version"].dump() +
        " is not supported (this lockstep reads version " +
        std::to_string(kManifestVersion) + ")");
  }
  RETURN_IF_ERROR(RequireOneOf(manifest, "kind", {"lockstep.run"}));
  RETURN_IF_ERROR(
      RequireOneOf(manifest, "status", {"succeeded", "failed", "cancelled"}));
  if (!manifest.contains("steps") || !manifest["steps"].is_array()) {
    return Status::InvalidArgument("steps: missing or not a list");
  }
  return Status::Ok();
}

Status CheckManifestShape(const Json& manifest) {
  RETURN_IF_ERROR(CheckManifestKind(manifest));
  using Type = Json::value_t;
  struct Field {
    const char* name;
    Type type;
  };
  static constexpr Field kFields[] = {
      {"run_id", Type::string},       {"started", Type::string},
      {"finished", Type::string},     {"pipeline", Type::object},
      {"code", Type::object},         {"params", Type::object},
      {"seeds", Type::object},        {"data", Type::array},
      {"environment", Type::object},  {"sandbox", Type::string},
      {"warnings", Type::array},      {"field_hashes", Type::object},
      {"manifest_hash", Type::string},
  };
  for (const Field& field : kFields) {
    auto value = manifest.find(field.name);
    if (value == manifest.end()) {
      return Status::InvalidArgument(std::string(field.name) +
                                     ": missing");
    }
    if (value->type() != field.type) {
      return Status::InvalidArgument(std::string(field.name) + ": want " +
                                     Json(field.type).type_name());
    }
  }
  return RequireOneOf(manifest, "sandbox", {"bubblewrap", "none"});
}

Result<Json> LoadManifest(const std::filesystem::path& path) {
  Result<std::string> text = ReadDocument(path);
  if (!text.ok()) {
    return Status(text.status().code(), path.string() +
                                            ": cannot read the manifest: " +
                                            text.status().message());
  }
  // A repeated key would be read one way here and another way by the
  // next JSON reader, while the hash covers only the last value.
  Result<Json> manifest = ParseJsonWithUniqueKeys(*text, path.string());
  RETURN_IF_ERROR(manifest.status());
  RETURN_IF_ERROR(CheckManifestKind(*manifest).WithContext(path.string()));
  RETURN_IF_ERROR(VerifyManifestHash(*manifest).WithContext(path.string()));
  return manifest;
}

std::filesystem::path ManifestPath(const std::filesystem::path& store_root,
                                   const std::string& run_id) {
  return store_root / "runs" / run_id / "manifest.json";
}

}  // namespace lockstep::manifest
