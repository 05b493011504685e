// What the intent journal says is still to undo after PCI changes, their put-backs and a crash.
#include "instance/intent_journal.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "temp_dir.hpp"

namespace mdevrun {
namespace {

using K = PciChange::Kind;

DeviceChange pci(K kind, std::string address, std::string before, std::string after) {
  return {DeviceChange::Kind::pci_change,
          {},
          {kind, "vf0", std::move(address), std::move(before), std::move(after)}};
}

TEST(IntentJournal, PciChangesStayUntilPutBack) {
  testing::TempDir tmp;
  const auto path = tmp.path() / "journal.jsonl";
  IntentJournal j(path);
  const auto lock = j.intend({DeviceChange::Kind::lock_pci, {}, {.address = "0000:00:04.1"}});
  j.finish(lock, 0);
  const auto a = j.intend(pci(K::autoprobe, "0000:00:04.0", "1", "0"));
  j.finish(a, 0);
  const auto n = j.intend(pci(K::numvfs, "0000:00:04.0", "0", "2"));
  j.finish(n, 0);
  const auto failed = j.intend(pci(K::driver_override, "0000:00:04.1", "", "vfio-pci"));
  j.finish(failed, EACCES);                                                     // never happened
  const auto unknown = j.intend(pci(K::bind, "0000:00:04.1", "", "vfio-pci"));  // crash here
  (void)unknown;

  auto view = read_journal(path);
  ASSERT_TRUE(view);
  ASSERT_EQ(view->pci_changes.size(), 3u);  // autoprobe, numvfs, and the bind of unknown outcome
  EXPECT_EQ(view->pci_changes[0].change.kind, K::autoprobe);
  EXPECT_EQ(view->pci_changes[1].change, pci(K::numvfs, "0000:00:04.0", "0", "2").pci);
  EXPECT_EQ(view->pci_changes[2].change.kind, K::bind);
  EXPECT_EQ(view->pci_locked, std::vector<std::string>{"0000:00:04.1"});

  // A put-back that failed keeps the change; one that succeeded ends it.
  const auto u1 = j.intend(
      {DeviceChange::Kind::pci_undo, {}, view->pci_changes[2].change, view->pci_changes[2].id});
  j.finish(u1, EBUSY);
  const auto u2 = j.intend(
      {DeviceChange::Kind::pci_undo, {}, view->pci_changes[1].change, view->pci_changes[1].id});
  j.finish(u2, 0);
  view = read_journal(path);
  ASSERT_EQ(view->pci_changes.size(), 2u);
  EXPECT_EQ(view->pci_changes[0].change.kind, K::autoprobe);
  EXPECT_EQ(view->pci_changes[1].change.kind, K::bind);
}

TEST(IntentJournal, ATornPciLineIsIgnored) {
  testing::TempDir tmp;
  const auto path = tmp.path() / "journal.jsonl";
  {
    IntentJournal j(path);
    j.finish(j.intend(pci(K::numvfs, "0000:00:04.0", "0", "2")), 0);
  }
  std::ofstream(path, std::ios::app) << R"({"id":9,"intent":"pci_change","pci":{"kind":"unb)";
  const auto view = read_journal(path);
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->torn_tail);
  EXPECT_EQ(view->pci_changes.size(), 1u);
}

}  // namespace
}  // namespace mdevrun

namespace mdevrun {
namespace {

// Regression: a second IntentJournal of the same process (the supervisor's cleanup) restarted the
// ids, so its first put-back replaced the record of the mdev's lock and create in read_journal: a
// SIGKILL in the middle of a cleanup with PCI slices left the mdev behind for good.
TEST(IntentJournal, TwoJournalsOfOneProcessNeverReuseAnId) {
  testing::TempDir tmp;
  const auto path = tmp.path() / "journal.jsonl";
  {
    IntentJournal first(path);
    first.finish(
        first.intend({DeviceChange::Kind::create_mdev,
                      {"gpu0", "4dd50f26-ec08-11e8-b838-4bc3356865b6", "mtty", "mtty-2", true}}),
        0);
  }
  IntentJournal second(path);
  const auto undo = second.intend({DeviceChange::Kind::pci_undo,
                                   {},
                                   {PciChange::Kind::bind, "nic", "0000:00:19.0", "", "x"},
                                   1});
  (void)undo;  // killed here
  const auto view = read_journal(path);
  ASSERT_TRUE(view);
  ASSERT_EQ(view->owned.size(), 1u) << "the mdev's create record was lost";
  EXPECT_EQ(view->owned[0].uuid, "4dd50f26-ec08-11e8-b838-4bc3356865b6");
}

}  // namespace
}  // namespace mdevrun
