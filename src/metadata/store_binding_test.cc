// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Which store a lineage database belongs to, on both backends: a store
// is bound by its first retention root, its generation advances with
// each, and gc's check refuses another store's database, a fresh one, an
// older copy and one that lacks a run manifest of the store.

#include <gtest/gtest.h>

#include "core/files.h"
#include "metadata/metadata_store.h"
#include "metadata/testing_backends.h"
#include "store/identity.h"
#include "store/location.h"

namespace lockstep::metadata {
namespace {

namespace fs = std::filesystem;
using testing::BackendTest;

class StoreBindingTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    root_ = dir_ / "store";
    ASSERT_TRUE(store::InitializeStoreLayout(root_).ok());
    store_id_ = *store::ReadStoreId(root_);
    store_->SetStoreRoot(root_);
  }

  // Records snapshot NAME@1 in `metadata`: a retention root.
  static Status Snapshot(MetadataStore* metadata, const std::string& name) {
    ASSIGN_OR_RETURN(int64_t artifact,
                     metadata->PutArtifact({.type = "Dataset", .uri = name,
                                            .digest = "sha256:" + name}));
    return metadata->PutSnapshot({name, 1, artifact});
  }

  // The generation `metadata` records for this store, or -1 for none.
  int64_t GenerationIn(MetadataStore* metadata) {
    auto rows = metadata->database()->Query(
        "SELECT generation FROM stores WHERE store_id = ?", {store_id_});
    return rows.ok() && !rows->empty() ? AsInt((*rows)[0][0]) : -1;
  }

  // A second, fresh database of this backend opened for the same store.
  std::unique_ptr<MetadataStore> OpenOther() {
    other_url_ = NewUrl();
    auto other = MetadataStore::Open(other_url_);
    EXPECT_TRUE(other.ok()) << other.status().ToString();
    (*other)->SetStoreRoot(root_);
    return std::move(other).value();
  }

  std::string Tail(const std::string& url) {
    return "; gc would delete what this store's runs and snapshots need. "
           "Use the store's own lineage database, or pass --trust-metadata "
           "if " + url + " holds every run and snapshot of this store";
  }

  fs::path root_;
  std::string store_id_;
  std::string other_url_;
};
LOCKSTEP_INSTANTIATE_BACKENDS(StoreBindingTest);

TEST_P(StoreBindingTest, TheFirstRootBindsTheStoreAndEachAdvancesIt) {
  // Nothing recorded yet: any database holds all the store has.
  EXPECT_TRUE(store_->CheckStoreDatabase("gc", url_).ok());
  EXPECT_EQ(GenerationIn(store_.get()), -1);

  ASSERT_TRUE(Snapshot(store_.get(), "iris").ok());
  EXPECT_EQ(GenerationIn(store_.get()), 1);
  EXPECT_EQ(*store::ReadStoreGeneration(root_), 1);

  int64_t context = *store_->PutContext({.type = "run", .name = "r1"});
  ASSERT_TRUE(store_->CreateRun({.run_id = "r1", .context_id = context,
                                 .pipeline = "p", .status = "running"})
                  .ok());
  EXPECT_EQ(GenerationIn(store_.get()), 1);  // Not a root yet.
  fs::create_directories(root_ / "runs" / "r1");
  ASSERT_TRUE(
      WriteFileAtomically(root_ / "runs" / "r1" / "manifest.json", "{}")
          .ok());
  ASSERT_TRUE(store_->FinishRun("r1", "succeeded",
                                (root_ / "runs/r1/manifest.json").string(),
                                "sha256:m")
                  .ok());
  EXPECT_EQ(GenerationIn(store_.get()), 2);
  EXPECT_EQ(*store::ReadStoreGeneration(root_), 2);
  EXPECT_TRUE(store_->CheckStoreDatabase("gc", url_).ok());
}

TEST_P(StoreBindingTest, AFreshDatabaseIsRefusedAndNotBoundByWrites) {
  ASSERT_TRUE(Snapshot(store_.get(), "iris").ok());
  auto other = OpenOther();
  ASSERT_TRUE(Snapshot(other.get(), "wine").ok());
  EXPECT_EQ(GenerationIn(other.get()), -1);  // The store had history.
  Status refused = other->CheckStoreDatabase("gc", "URL");
  EXPECT_TRUE(refused.IsDataLoss());
  EXPECT_EQ(refused.message(),
            "gc refuses to run: the lineage database URL is not this "
            "store's: it does not record store " + store_id_ + " (" +
                (root_ / "store-id").string() +
                ") but no store at all (a fresh database)" + Tail("URL"));
  EXPECT_EQ(*store::ReadStoreGeneration(root_), 1);
}

TEST_P(StoreBindingTest, AnotherStoresDatabaseIsRefusedNamingThatStore) {
  fs::path elsewhere = dir_ / "elsewhere";
  ASSERT_TRUE(store::InitializeStoreLayout(elsewhere).ok());
  auto other = OpenOther();
  other->SetStoreRoot(elsewhere);
  ASSERT_TRUE(Snapshot(other.get(), "wine").ok());
  ASSERT_TRUE(Snapshot(store_.get(), "iris").ok());

  other->SetStoreRoot(root_);
  Status refused = other->CheckStoreDatabase("cleanup", "URL");
  EXPECT_TRUE(refused.IsDataLoss());
  EXPECT_NE(refused.message().find(
                "it does not record store " + store_id_ + " (" +
                (root_ / "store-id").string() + ") but only store " +
                *store::ReadStoreId(elsewhere) + "; cleanup would delete"),
            std::string::npos)
      << refused.message();
}

TEST_P(StoreBindingTest, AnOlderCopyIsRefusedAndStaysOlder) {
  ASSERT_TRUE(Snapshot(store_.get(), "iris").ok());
  ASSERT_TRUE(Snapshot(store_.get(), "wine").ok());
  // What restoring a copy taken after the first snapshot looks like.
  ASSERT_TRUE(store_->database()
                  ->Execute("UPDATE stores SET generation = 1")
                  .ok());
  Status refused = store_->CheckStoreDatabase("gc", "URL");
  EXPECT_TRUE(refused.IsDataLoss());
  EXPECT_EQ(refused.message(),
            "gc refuses to run: the lineage database URL is older than "
            "this store: it is at generation 1 and " +
                (root_ / "store-generation").string() +
                " at 2, as a copy restored from an old backup would be" +
                Tail("URL"));
  // Later roots do not let it catch up with the store.
  ASSERT_TRUE(Snapshot(store_.get(), "digits").ok());
  EXPECT_EQ(GenerationIn(store_.get()), 1);
  EXPECT_TRUE(store_->CheckStoreDatabase("gc", "URL").IsDataLoss());
}

TEST_P(StoreBindingTest, ARunManifestTheDatabaseDoesNotKnowIsRefused) {
  ASSERT_TRUE(Snapshot(store_.get(), "iris").ok());
  for (const char* run : {"r7", "r8"}) {
    fs::create_directories(root_ / "runs" / run);
    ASSERT_TRUE(
        WriteFileAtomically(root_ / "runs" / run / "manifest.json", "{}")
            .ok());
  }
  Status refused = store_->CheckStoreDatabase("gc", "URL");
  EXPECT_TRUE(refused.IsDataLoss());
  EXPECT_EQ(refused.message(),
            "gc refuses to run: the lineage database URL lacks runs of "
            "this store: it does not know the run of " +
                (root_ / "runs/r7/manifest.json").string() +
                " and 1 more (an older copy, or the runs were recorded in "
                "another database)" + Tail("URL"));
}

TEST_P(StoreBindingTest, AStoreWithoutAnIdNeedsStoreMigrate) {
  fs::remove(root_ / "store-id");
  Status refused = store_->CheckStoreDatabase("gc", "URL");
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "gc refuses to run: " + (root_ / "store-id").string() +
                " is missing (a store made by an older Lockstep); run "
                "`lockstep store migrate` once to give the store an id and "
                "record it in its lineage database");
  ASSERT_TRUE(Snapshot(store_.get(), "iris").ok());  // Writes still work.
  EXPECT_EQ(*store::ReadStoreGeneration(root_), 0);

  auto bound = store_->BindStore();
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ(bound->binding, MetadataStore::Binding::kRecorded);
  EXPECT_EQ(bound->store_id, *store::ReadStoreId(root_));
  EXPECT_EQ(*store::ReadStoreGeneration(root_), 1);
  EXPECT_TRUE(store_->CheckStoreDatabase("gc", "URL").ok());
  EXPECT_EQ(store_->BindStore()->binding,
            MetadataStore::Binding::kAlreadyRecorded);
}

TEST_P(StoreBindingTest, BindingADatabaseThatLacksTheStoresRootsIsRefused) {
  ASSERT_TRUE(Snapshot(store_.get(), "iris").ok());
  auto other = OpenOther();
  auto bound = other->BindStore();
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ(bound->binding, MetadataStore::Binding::kRefused);
  EXPECT_EQ(GenerationIn(other.get()), -1);
  EXPECT_TRUE(other->CheckStoreDatabase("gc", "URL").IsDataLoss());
}

}  // namespace
}  // namespace lockstep::metadata
