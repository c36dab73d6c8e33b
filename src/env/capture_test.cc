// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "env/capture.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/files.h"

namespace lockstep::env {
namespace {

constexpr char kOsRelease[] =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
    "NAME=\"Debian GNU/Linux\"\n"
    "VERSION_ID=\"12\"\n"
    "ID=debian\n";

constexpr char kCpuInfo[] =
    "processor\t: 0\n"
    "model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
    "cpu MHz\t\t: 2200.154\n"
    "flags\t\t: sse2 avx2 fpu avx512f\n"
    "\n"
    "processor\t: 1\n"
    "model name\t: Other\n"
    "flags\t\t: sse2\n";

constexpr char kDpkgStatus[] =
    "Package: libc6\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Version: 2.36-9+deb12u4\n"
    "Description: GNU C Library\n"
    " Version: 9.9 (a continuation line, not a field)\n"
    "\n"
    "Package: gone\n"
    "Status: deinstall ok config-files\n"
    "Architecture: amd64\n"
    "Version: 1.0\n"
    "\n"
    "Package: tzdata\n"
    "Status: install ok installed\n"
    "Architecture: all\n"
    "Version: 2024a-0+deb12u1\n";

TEST(CaptureParseTest, OsRelease) {
  Json os = ParseOsRelease(kOsRelease);
  EXPECT_EQ(os["id"], "debian");
  EXPECT_EQ(os["version_id"], "12");
  EXPECT_EQ(os["pretty_name"], "Debian GNU/Linux 12 (bookworm)");
}

TEST(CaptureParseTest, CpuInfoTakesFirstProcessorSortedFlags) {
  Json cpu = ParseCpuInfo(kCpuInfo);
  EXPECT_EQ(cpu["model"], "Intel(R) Xeon(R) CPU @ 2.20GHz");
  EXPECT_EQ(cpu["flags"], Json({"avx2", "avx512f", "fpu", "sse2"}));
}

TEST(CaptureParseTest, MemTotalInBytes) {
  EXPECT_EQ(ParseMemTotal("MemFree: 1 kB\nMemTotal:       16384000 kB\n"),
            16384000ull * 1024);
  EXPECT_EQ(ParseMemTotal("nothing\n"), 0u);
}

TEST(CaptureParseTest, DpkgStatusKeepsInstalledOnly) {
  auto packages = ParseDpkgStatus(kDpkgStatus);
  EXPECT_EQ(packages, (std::map<std::string, std::string>{
                          {"libc6:amd64", "2.36-9+deb12u4"},
                          {"tzdata:all", "2024a-0+deb12u1"}}));
}

// The real status file agrees with dpkg-query, an independent reader.
TEST(CaptureParseTest, DpkgStatusMatchesDpkgQuery) {
  auto status = ReadFile("/var/lib/dpkg/status");
  if (!status.ok()) GTEST_SKIP() << "no dpkg on this machine";
  fs::path out = fs::temp_directory_path() / "lockstep-dpkg-query.txt";
  std::string command =
      "dpkg-query -W -f='${db:Status-Status} ${Package}:${Architecture} "
      "${Version}\\n' | awk '$1 == \"installed\" {print $2, $3}' > '" +
      out.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::string expected_text = *ReadFile(out);
  fs::remove(out);

  std::map<std::string, std::string> expected;
  size_t position = 0;
  while (position < expected_text.size()) {
    size_t end = expected_text.find('\n', position);
    std::string line = expected_text.substr(position, end - position);
    position = end + 1;
    size_t space = line.find(' ');
    expected[line.substr(0, space)] = line.substr(space + 1);
  }
  EXPECT_EQ(ParseDpkgStatus(*status), expected);
  EXPECT_GT(expected.size(), 10u);
}

class FakeRootTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "root");
    Write("etc/os-release", kOsRelease);
    Write("proc/cpuinfo", kCpuInfo);
    Write("proc/meminfo", "MemTotal: 2048 kB\n");
    Write("var/lib/dpkg/status", kDpkgStatus);
  }
  void TearDown() override { RemoveAllQuietly(root_); }
  void Write(const std::string& path, const std::string& bytes) {
    ASSERT_TRUE(WriteFileAtomically(root_ / path, bytes).ok());
  }
  CaptureOptions AtRoot() const {
    CaptureOptions options;
    options.root = root_;
    return options;
  }
  fs::path root_;
};

TEST_F(FakeRootTest, CaptureReadsTheTree) {
  Write("proc/driver/nvidia/version",
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05\n");
  auto capture = CaptureEnvironment(AtRoot());
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  EXPECT_EQ((*capture)["os"]["id"], "debian");
  EXPECT_EQ((*capture)["memory_bytes"], 2048 * 1024);
  EXPECT_EQ((*capture)["cpu"]["flags"].size(), 4u);
  EXPECT_GE((*capture)["cpu"]["cores"].get<int>(), 1);
  EXPECT_EQ((*capture)["debian_packages"]["libc6:amd64"], "2.36-9+deb12u4");
  EXPECT_EQ((*capture)["gpu"]["driver"],
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05");
  EXPECT_FALSE((*capture)["libc"]["version"].get<std::string>().empty());
  EXPECT_FALSE(capture->contains("python"));
  std::string summary = FormatEnvironmentSummary(*capture);
  EXPECT_NE(summary.find("Debian GNU/Linux 12 (bookworm)"),
            std::string::npos);
}

TEST_F(FakeRootTest, PythonPackagesComeFromItsSitePackages) {
  // A stand-in interpreter that answers the probe with a fixed report.
  Write("site/numpy-1.26.4.dist-info/METADATA",
        "Name: numpy\nVersion: 1.26.4\n");
  Write("site/Zope.Interface-6.1.dist-info/METADATA",
        "Name: zope.interface\nVersion: 6.1\n");
  Write("bin/python",
        "#!/bin/sh\necho '{\"executable\": \"/fake/python\", \"version\": "
        "\"3.99.1\", \"paths\": [\"" + (root_ / "site").string() +
        "\", \"/nonexistent\"]}'\n");
  ::chmod((root_ / "bin/python").c_str(), 0755);

  auto capture = CaptureEnvironment(
      {.python = (root_ / "bin/python").string(), .root = root_});
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  EXPECT_EQ((*capture)["python"]["version"], "3.99.1");
  EXPECT_EQ((*capture)["python"]["packages"],
            Json({{"numpy", "1.26.4"}, {"zope-interface", "6.1"}}));

  auto missing = CaptureEnvironment(
      {.python = (root_ / "no-python").string(), .root = root_});
  EXPECT_FALSE(missing.ok());
}

// The compiler's version line is cached in the store under its key: a
// fake gcc on PATH counts its runs; each part of the recorded key
// changed in turn, a rewritten gcc (whose new line is then reported) and
// another gcc earlier on PATH each run it again.
TEST_F(FakeRootTest, TheCompilerLineIsCachedUntilAKeyPartChanges) {
  fs::path store = root_ / "store";
  auto write_gcc = [&](const fs::path& dir, const std::string& version) {
    Write((dir / "gcc").string(),
          "#!/bin/sh\necho x >> " + (root_ / "runs").string() +
              "\necho 'gcc (Fake) " + version + "'\n");
    ::chmod((root_ / dir / "gcc").c_str(), 0755);
  };
  auto runs = [&]() {
    Result<std::string> text = ReadFile(root_ / "runs");
    return text.ok() ? std::count(text->begin(), text->end(), '\n') : 0;
  };
  write_gcc("bin", "1.0");
  std::string saved_path = std::getenv("PATH");
  std::string path = (root_ / "bin").string() + ":" + saved_path;
  ::setenv("PATH", path.c_str(), 1);
  CaptureOptions options = AtRoot();
  options.cache_root = store;
  auto gcc_line = [&]() {
    return (*CaptureEnvironment(options))["compiler"]["gcc"];
  };
  ::sleep(2);  // Older than the racy window, so the answer is saved.
  ::usleep(100000);
  EXPECT_EQ(gcc_line(), "gcc (Fake) 1.0");
  EXPECT_EQ(gcc_line(), "gcc (Fake) 1.0");
  EXPECT_EQ(runs(), 1);

  fs::path record = store / "cache" / "host-v1" / "gcc-version.json";
  int64_t expected = 1;
  for (const char* part : {"boot_id", "ns_mnt", "ns_user", "uid", "gcc",
                           "LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE",
                           "GCC_EXEC_PREFIX", "COMPILER_PATH"}) {
    Json saved = ParseJsonOrDiscarded(*ReadFile(record));
    ASSERT_TRUE(saved["key"].contains(part)) << part;
    saved["key"][part] = "changed";
    ASSERT_TRUE(WriteFileAtomically(record, saved.dump()).ok());
    EXPECT_EQ(gcc_line(), "gcc (Fake) 1.0") << part;
    EXPECT_EQ(runs(), ++expected) << part;
    EXPECT_EQ(gcc_line(), "gcc (Fake) 1.0") << part;
    EXPECT_EQ(runs(), expected) << part;
  }

  ::setenv("LC_MESSAGES", "de_DE.UTF-8", 1);
  EXPECT_EQ(gcc_line(), "gcc (Fake) 1.0");
  ::unsetenv("LC_MESSAGES");
  EXPECT_EQ(runs(), ++expected);
  write_gcc("bin", "2.0");  // An upgrade in place.
  EXPECT_EQ(gcc_line(), "gcc (Fake) 2.0");
  EXPECT_EQ(runs(), ++expected);
  write_gcc("first", "3.0");
  std::string first = (root_ / "first").string() + ":" + path;
  ::setenv("PATH", first.c_str(), 1);
  EXPECT_EQ(gcc_line(), "gcc (Fake) 3.0");
  EXPECT_EQ(runs(), ++expected);
  ::setenv("PATH", saved_path.c_str(), 1);
}

// The package list is cached while dpkg's status file keeps its stat,
// and read again once it changes (dpkg replaces it by a rename).
TEST_F(FakeRootTest, ThePackageListIsCachedUntilTheStatusFileChanges) {
  fs::path store = *MakeTempDirectory(fs::temp_directory_path(), "st");
  CaptureOptions options = AtRoot();
  options.cache_root = store;
  auto packages = [&]() {
    return (*CaptureEnvironment(options))["debian_packages"];
  };
  ::sleep(2);  // Older than the racy window, so the answer is saved.
  ::usleep(100000);
  Json first = packages();
  EXPECT_EQ(first, Json({{"libc6:amd64", "2.36-9+deb12u4"},
                         {"tzdata:all", "2024a-0+deb12u1"}}));

  // The cached answer is what a second capture returns: changed here by
  // hand, it shows through.
  fs::path record = store / "cache" / "host-v1" / "debian-packages.json";
  Json saved = ParseJsonOrDiscarded(*ReadFile(record));
  ASSERT_EQ(saved["answer"], first);
  saved["answer"]["marker:all"] = "1";
  ASSERT_TRUE(WriteFileAtomically(record, saved.dump()).ok());
  EXPECT_EQ(packages()["marker:all"], "1");

  Write("var/lib/dpkg/status",
        "Package: zlib1g\nStatus: install ok installed\n"
        "Architecture: amd64\nVersion: 1:1.2.13\n");
  EXPECT_EQ(packages(), Json({{"zlib1g:amd64", "1:1.2.13"}}));
  RemoveAllQuietly(store);
}

TEST(DiffEnvironmentsTest, ListsChangedAddedAndRemovedFields) {
  Json a = {{"os", {{"id", "debian"}, {"version_id", "12"}}},
            {"cpu", {{"flags", {"avx2", "sse2"}}}},
            {"debian_packages", {{"libc6:amd64", "2.36-9"},
                                 {"old:all", "1"}}},
            {"gpu", nullptr}};
  Json b = {{"os", {{"id", "debian"}, {"version_id", "13"}}},
            {"cpu", {{"flags", {"sse2", "avx512f"}}}},
            {"debian_packages", {{"libc6:amd64", "2.36-9+deb12u4"},
                                 {"new/pkg", "2"}}},
            {"gpu", nullptr}};
  Json changes = ChangesToJson(DiffEnvironments(a, b));
  Json expected = Json::parse(R"([
    {"field": "/cpu/flags", "old": "avx2", "new": null},
    {"field": "/cpu/flags", "old": null, "new": "avx512f"},
    {"field": "/debian_packages/libc6:amd64", "old": "2.36-9",
     "new": "2.36-9+deb12u4"},
    {"field": "/debian_packages/new~1pkg", "old": null, "new": "2"},
    {"field": "/debian_packages/old:all", "old": "1", "new": null},
    {"field": "/os/version_id", "old": "12", "new": "13"}])");
  EXPECT_EQ(changes, expected);
  EXPECT_TRUE(DiffEnvironments(a, a).empty());
}

TEST_F(FakeRootTest, FingerprintIgnoresVolatileFacts) {
  Json capture = *CaptureEnvironment(AtRoot());
  std::vector<std::string> wanted = {"libc6", "tzdata:all", "absent"};
  Json fingerprint = ToolchainFingerprint(capture, wanted);
  EXPECT_EQ(fingerprint["os"], "debian 12");
  EXPECT_EQ(fingerprint["debian_packages"]["libc6"], "2.36-9+deb12u4");
  EXPECT_EQ(fingerprint["debian_packages"]["tzdata:all"], "2024a-0+deb12u1");
  EXPECT_TRUE(fingerprint["debian_packages"]["absent"].is_null());

  Json changed = capture;
  changed["memory_bytes"] = 1;
  changed["kernel"]["version"] = "#1 SMP PREEMPT_DYNAMIC another build";
  changed["cpu"]["model"] = "Other CPU @ 3.1GHz";
  changed["debian_packages"]["unrelated:amd64"] = "1.0";
  EXPECT_EQ(ToolchainFingerprint(changed, wanted), fingerprint);

  changed["debian_packages"]["libc6:amd64"] = "2.37-1";
  EXPECT_NE(ToolchainFingerprint(changed, wanted), fingerprint);
}

}  // namespace
}  // namespace lockstep::env
