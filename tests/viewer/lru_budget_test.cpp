// The bytes-bounded LRU under the decoded-tile cache and the texture cache.
#include "lru_budget.h"

#include <gtest/gtest.h>

#include <string>

namespace reread::viewer {
namespace {

using Lru = LruBudget<int, std::string>;

TEST(LruBudget, evicts_least_recently_used_until_within_bytes_and_reports_what_left) {
  Lru lru(100);
  std::vector<std::pair<int, std::string>> evicted;
  lru.put(1, "one", 40, &evicted);
  lru.put(2, "two", 40, &evicted);
  ASSERT_NE(lru.find(1), nullptr);  // 1 is now the most recent
  lru.put(3, "three", 40, &evicted);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].first, 2) << "the least recently used goes first";
  EXPECT_EQ(evicted[0].second, "two");
  EXPECT_EQ(lru.bytes(), 80u);
  EXPECT_EQ(lru.size(), 2u);
  EXPECT_TRUE(lru.contains(1));
  EXPECT_FALSE(lru.contains(2));
}

TEST(LruBudget, contains_does_not_touch_but_find_does) {
  Lru lru(100);
  lru.put(1, "a", 50);
  lru.put(2, "b", 50);
  EXPECT_TRUE(lru.contains(1));
  lru.put(3, "c", 50);
  EXPECT_FALSE(lru.contains(1)) << "contains() left 1 the least recent";
  ASSERT_NE(lru.find(2), nullptr);
  lru.put(4, "d", 50);
  EXPECT_TRUE(lru.contains(2));
  EXPECT_FALSE(lru.contains(3));
}

TEST(LruBudget, replacing_a_key_reweighs_it_and_hands_back_the_old_value) {
  Lru lru(100);
  std::vector<std::pair<int, std::string>> evicted;
  lru.put(1, "small", 10, &evicted);
  lru.put(1, "large", 70, &evicted);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].second, "small");
  EXPECT_EQ(lru.bytes(), 70u);
  EXPECT_EQ(*lru.find(1), "large");
}

TEST(LruBudget, an_entry_larger_than_the_capacity_is_not_kept) {
  Lru lru(100);
  lru.put(1, "a", 30);
  std::vector<std::pair<int, std::string>> evicted;
  lru.put(2, "huge", 150, &evicted);
  EXPECT_EQ(lru.bytes(), 0u);
  EXPECT_EQ(lru.size(), 0u);
  EXPECT_EQ(evicted.size(), 2u);
}

TEST(LruBudget, erase_and_a_smaller_capacity_free_bytes) {
  Lru lru(100);
  lru.put(1, "a", 30);
  lru.put(2, "b", 30);
  lru.put(3, "c", 30);
  lru.erase(2);
  EXPECT_EQ(lru.bytes(), 60u);
  lru.erase(42);
  std::vector<std::pair<int, std::string>> evicted;
  lru.set_capacity(40, &evicted);
  EXPECT_EQ(lru.capacity(), 40u);
  EXPECT_EQ(lru.bytes(), 30u);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].first, 1);
}

}  // namespace
}  // namespace reread::viewer
