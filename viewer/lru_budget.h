// A least-recently-used map bounded in bytes rather than entries: the streaming engine's decoded tiles
// and the renderer's textures both cost what their pixels weigh, not what their count says.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <unordered_map>
#include <utility>
#include <vector>

namespace reread::viewer {

template <class Key, class Value, class Hash = std::hash<Key>>
class LruBudget {
 public:
  explicit LruBudget(std::size_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The value, made the most recently used; null when absent.
  Value* find(const Key& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, it->second);
    return &it->second->value;
  }
  // Whether the key is held, without touching it.
  bool contains(const Key& key) const { return index_.find(key) != index_.end(); }

  // Inserts or replaces `key` as the most recently used, then evicts least recently used entries until
  // the total is within capacity (the new entry too, when it alone is larger). What leaves, replaced
  // values included, goes to `evicted` when given, so the caller can release it (a GL texture, say).
  void put(Key key, Value value, std::size_t bytes, std::vector<std::pair<Key, Value>>* evicted = nullptr) {
    if (const auto it = index_.find(key); it != index_.end()) {
      bytes_ -= it->second->bytes;
      if (evicted != nullptr) evicted->emplace_back(it->second->key, std::move(it->second->value));
      entries_.erase(it->second);
      index_.erase(it);
    }
    entries_.push_front(Entry{key, std::move(value), bytes});
    index_.emplace(std::move(key), entries_.begin());
    bytes_ += bytes;
    trim(evicted);
  }

  void erase(const Key& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return;
    bytes_ -= it->second->bytes;
    entries_.erase(it->second);
    index_.erase(it);
  }

  // Changes the bound, evicting what no longer fits.
  void set_capacity(std::size_t capacity_bytes, std::vector<std::pair<Key, Value>>* evicted = nullptr) {
    capacity_ = capacity_bytes;
    trim(evicted);
  }
  void clear() {
    entries_.clear();
    index_.clear();
    bytes_ = 0;
  }

  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return index_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    Key key;
    Value value;
    std::size_t bytes = 0;
  };

  void trim(std::vector<std::pair<Key, Value>>* evicted) {
    while (bytes_ > capacity_ && !entries_.empty()) {
      Entry& last = entries_.back();
      bytes_ -= last.bytes;
      index_.erase(last.key);
      if (evicted != nullptr) evicted->emplace_back(std::move(last.key), std::move(last.value));
      entries_.pop_back();
    }
  }

  std::size_t capacity_;
  std::size_t bytes_ = 0;
  std::list<Entry> entries_;  // most recently used first; list nodes keep values at stable addresses
  std::unordered_map<Key, typename std::list<Entry>::iterator, Hash> index_;
};

}  // namespace reread::viewer
