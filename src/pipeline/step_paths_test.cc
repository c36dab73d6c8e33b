// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Names and paths that reach a step folder, from a pipeline file, a
// manifest or a step itself, never reach a file outside it.

#include "pipeline/step_paths.h"

#include <gtest/gtest.h>

#include "core/files.h"
#include "pipeline/code_files.h"
#include "pipeline/executor.h"
#include "store/location.h"

namespace lockstep::pipeline {
namespace {

namespace fs = std::filesystem;

TEST(StepPathsTest, SimpleNames) {
  for (const char* name : {"a", "model_2", "x-y", "A9"}) {
    EXPECT_TRUE(IsSimpleName(name)) << name;
  }
  for (const char* name : {"", ".", "..", "a/b", "../x", "a.txt", "a b",
                           "a\n"}) {
    EXPECT_FALSE(IsSimpleName(name)) << name;
  }
  EXPECT_TRUE(IsStepRecordName("train[12]"));
  EXPECT_FALSE(IsStepRecordName("../x[1]"));
  EXPECT_TRUE(IsEnvName("_A1"));
  EXPECT_FALSE(IsEnvName("LD_PRELOAD=/x"));
  EXPECT_FALSE(IsEnvName("1A"));
  EXPECT_NE(RefusedEnvReason("PATH"), "");
  EXPECT_NE(RefusedEnvReason("LD_PRELOAD"), "");
  EXPECT_NE(RefusedEnvReason("LD_LIBRARY_PATH"), "");
  EXPECT_NE(RefusedEnvReason("TMPDIR"), "");
  EXPECT_NE(RefusedEnvReason("HOME"), "");
  EXPECT_NE(RefusedEnvReason("LOCKSTEP_STEP"), "");
  EXPECT_NE(RefusedEnvReason("LOCKSTEP_SEED"), "");
  EXPECT_EQ(RefusedEnvReason("TZ"), "");
  EXPECT_EQ(RefusedEnvReason("OMP_NUM_THREADS"), "");
  EXPECT_EQ(RefusedEnvReason("MYPATH"), "");
}

TEST(StepPathsTest, CodePaths) {
  for (const char* path : {"a.py", "src/lib", ".", "./x", "a/../b",
                           "outputs.py", "lib/outputs/x"}) {
    EXPECT_TRUE(CheckCodePath(path).ok()) << path;
  }
  for (const char* path : {"", "/etc/passwd", "..", "../x", "a/../../x",
                           "inputs/x", "outputs", "./tmp/y", "x/../outputs"}) {
    EXPECT_FALSE(CheckCodePath(path).ok()) << path;
  }
}

class CodeFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "code-files-");
  }
  void TearDown() override { RemoveAllQuietly(root_); }
  void Write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    ASSERT_TRUE(WriteFileAtomically(path, text).ok());
  }
  std::vector<std::string> Relatives(const std::string& entry) {
    Result<std::vector<CodeFile>> files = ListCodeFiles(root_, entry);
    EXPECT_TRUE(files.ok()) << files.status().ToString();
    std::vector<std::string> relatives;
    for (const CodeFile& file : files.ok() ? *files
                                           : std::vector<CodeFile>()) {
      relatives.push_back(file.relative);
    }
    return relatives;
  }
  fs::path root_;
};

// `code: [.]` with the store in the pipeline folder pulled blobs and
// metadata.db into the key, so it never hit.
TEST_F(CodeFilesTest, StoreFolderIsLeftOut) {
  Write(root_ / "train.py", "print(1)\n");
  ASSERT_TRUE(store::InitializeStoreLayout(root_ / ".lockstep").ok());
  Write(root_ / ".lockstep" / "metadata.db", "db");
  Write(root_ / ".lockstep" / "blobs" / "sha256" / "ab" / "abcd", "blob");
  EXPECT_EQ(Relatives("."), std::vector<std::string>{"train.py"});
  // Linked, it is still the store.
  fs::create_directory_symlink(root_ / ".lockstep", root_ / "lib");
  EXPECT_EQ(Relatives("."), std::vector<std::string>{"train.py"});
  Result<std::vector<CodeFile>> store = ListCodeFiles(root_, ".lockstep");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().message(),
            "code path .lockstep: is a Lockstep store, which is never code");
}

// Found by a tester: an OCI image layout in a code folder (it holds
// blobs/sha256/ too) was taken for a store and silently left out of the
// step and its key. Only a folder with a store's marks is left out.
TEST_F(CodeFilesTest, OciLayoutIsCodeNotAStore) {
  Write(root_ / "train.py", "print(1)\n");
  Write(root_ / "image" / "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  Write(root_ / "image" / "index.json", "{}");
  Write(root_ / "image" / "blobs" / "sha256" / "abcd", "layer");
  EXPECT_EQ(Relatives("."),
            (std::vector<std::string>{"image/blobs/sha256/abcd",
                                      "image/index.json", "image/oci-layout",
                                      "train.py"}));
  EXPECT_EQ(Relatives("image").size(), 3u);
  // A store of today is known by its id file alone.
  Write(root_ / "newstore" / "blobs" / "sha256" / "ab" / "abcd", "blob");
  Write(root_ / "newstore" / "store-id", "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(Relatives(".").size(), 4u);
}

TEST_F(CodeFilesTest, LayoutFoldersUnderAFolderAreRefused) {
  Write(root_ / "outputs" / "model", "fake");
  Result<std::vector<CodeFile>> files = ListCodeFiles(root_, ".");
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find(
                "code path outputs/model: is inside the step's outputs/"),
            std::string::npos)
      << files.status().message();
}

TEST_F(CodeFilesTest, MissingNamesTheFolder) {
  Result<std::vector<CodeFile>> files = ListCodeFiles(root_, "missing.py");
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().message(),
            "code file 'missing.py' does not exist (looked in " +
                root_.string() + ")");
  // A pipeline file named without a folder: the current folder, by name.
  fs::path before = fs::current_path();
  fs::current_path(root_);
  files = ListCodeFiles("", "missing.py");
  fs::current_path(before);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().message(),
            "code file 'missing.py' does not exist (looked in " +
                fs::canonical(root_).string() + ")");
}

// A manifest given to `reproduce` is untrusted: its step records are
// checked with the same rules as a pipeline file.
TEST(InvocationTest, ManifestNamesAreChecked) {
  StepInvocation good;
  good.step_name = "train[0]";
  good.component = "command";
  good.argv = {"true"};
  good.inputs["data"] = Sha256Of("x");
  good.code["src/a.py"] = {Sha256Of("y"), false};
  good.outputs = {"model"};
  good.env["HOME"] = "/h";
  ASSERT_TRUE(StepInvocation::FromJson(good.ToJson()).ok());

  auto refused = [&](auto change) {
    StepInvocation bad = good;
    change(&bad);
    Result<StepInvocation> read = StepInvocation::FromJson(bad.ToJson());
    return !read.ok() && read.status().message().starts_with(
                             "malformed step record: step ");
  };
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->inputs["../../../../victim/keep.txt"] = Sha256Of("x");
  }));
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->outputs.push_back("../../victim/gone.txt");
  }));
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->code["../../../../victim/t.txt"] = {Sha256Of("y"), false};
  }));
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->code["/etc/passwd"] = {Sha256Of("y"), false};
  }));
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->code["outputs/model"] = {Sha256Of("y"), false};
  }));
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->code["src/./a.py"] = {Sha256Of("y"), false};
  }));
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->env["LD_PRELOAD=/x"] = "";
  }));
  EXPECT_TRUE(refused([](StepInvocation* i) { i->step_name = "../w"; }));
  // Names longer than the file names they become (work folder NAME-<16
  // hex digits>, outputs/NAME) failed in the executor without a reason.
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->step_name = std::string(236, 's') + "[0]";
  }));
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->outputs.push_back(std::string(256, 'o'));
  }));
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->inputs[std::string(256, 'i')] = Sha256Of("x");
  }));
  StepInvocation longest = good;
  longest.step_name = std::string(235, 's') + "[0]";
  longest.outputs = {std::string(255, 'o')};
  Result<StepInvocation> read = StepInvocation::FromJson(longest.ToJson());
  EXPECT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(refused([](StepInvocation* i) {
    i->folder_inputs.insert("..");
  }));
}

class ExecutorTest : public CodeFilesTest {};

// The executor checks again, whoever built the invocation.
TEST_F(ExecutorTest, RefusesNamesOutsideTheStepFolder) {
  store::BlobStore blobs(root_ / "store");
  ASSERT_TRUE(store::InitializeStoreLayout(root_ / "store").ok());
  Write(root_ / "victim" / "keep.txt", "keep");
  StepInvocation invocation;
  invocation.step_name = "s";
  invocation.component = "command";
  invocation.argv = {"true"};
  invocation.sandbox = SandboxMode::kNone;
  invocation.inputs["../../victim/keep.txt"] = *blobs.PutBytes("evil");
  ExecutorConfig config{root_ / "store" / "work", "", false};
  fs::create_directories(config.work_root);
  Result<StepOutcome> outcome = ExecuteStep(invocation, &blobs, config);
  EXPECT_FALSE(outcome.ok());
  EXPECT_EQ(*ReadFile(root_ / "victim" / "keep.txt"), "keep");
}

// A step that replaces outputs/ with a link made the executor move the
// linked folder's files into the store.
TEST_F(ExecutorTest, DoesNotCollectThroughAReplacedOutputsFolder) {
  store::BlobStore blobs(root_ / "store");
  ASSERT_TRUE(store::InitializeStoreLayout(root_ / "store").ok());
  Write(root_ / "victim" / "gone", "mine");
  StepInvocation invocation;
  invocation.step_name = "s";
  invocation.component = "command";
  invocation.argv = {"sh", "-c",
                     "rmdir outputs && ln -s " + (root_ / "victim").string() +
                         " outputs"};
  invocation.sandbox = SandboxMode::kNone;
  invocation.outputs = {"gone"};
  ExecutorConfig config{root_ / "store" / "work", "", false};
  fs::create_directories(config.work_root);
  Result<StepOutcome> outcome = ExecuteStep(invocation, &blobs, config);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_NE(outcome->failure.find("outputs/ is no longer a folder"),
            std::string::npos)
      << outcome->failure;
  EXPECT_EQ(*ReadFile(root_ / "victim" / "gone"), "mine");
}

}  // namespace
}  // namespace lockstep::pipeline
