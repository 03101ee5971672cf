// The record outbox: a journal of JSON-line records (each a change of the durable state, applied the same way
// live and on replay), and one worker sending the queue in order over one keep-alive connection.
#include "record_outbox.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <fstream>
#include <random>
#include <set>
#include <system_error>

#include "api_client.h"
#include "case_record.h"

namespace reread::viewer {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// One open journal file, appended to.
class JournalFile {
 public:
  JournalFile() = default;
  JournalFile(const fs::path& path, bool truncate) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0600);
    if (fd_ < 0) throw_errno("cannot open the outbox journal " + path.string());
  }
  ~JournalFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  JournalFile(JournalFile&& o) noexcept : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)) {}
  JournalFile& operator=(JournalFile&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) ::close(fd_);
      path_ = std::move(o.path_);
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }

  void append(std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::write(fd_, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw_errno("cannot write the outbox journal " + path_.string());
      text.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void sync() {
    if (::fdatasync(fd_) != 0) throw_errno("cannot sync the outbox journal " + path_.string());
  }
  // Appends and syncs, or leaves the file as it was and throws.
  void append_durably(std::string_view text) {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throw_errno("cannot stat the outbox journal " + path_.string());
    try {
      append(text);
      sync();
    } catch (...) {
      if (::ftruncate(fd_, st.st_size) != 0) {  // the torn line is ignored on replay anyway
      }
      throw;
    }
  }

 private:
  fs::path path_;
  int fd_ = -1;
};

// One outbox per journal: a second viewer of the same server and user would interleave its records.
class JournalLock {
 public:
  explicit JournalLock(const fs::path& journal) {
    const fs::path path = fs::path(journal).concat(".lock");
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw_errno("cannot open " + path.string());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int saved = errno;
      ::close(fd_);
      errno = saved;
      if (saved == EWOULDBLOCK) {
        throw std::runtime_error("the outbox journal " + journal.string() + " is in use by another viewer");
      }
      throw_errno("cannot lock " + path.string());
    }
  }
  ~JournalLock() { ::close(fd_); }  // releases the lock
  JournalLock(const JournalLock&) = delete;
  JournalLock& operator=(const JournalLock&) = delete;

 private:
  int fd_ = -1;
};

// A rename or a new file is durable once its directory is synced.
void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open directory " + dir.string());
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) throw_errno("cannot sync directory " + dir.string());
}

// ---- Journal encoding ----

json to_json(const OutboxEntry& entry) {
  return std::visit(
      [](const auto& e) -> json {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, AnnotationCreate>) {
          return {{"type", "annotation_create"},
                  {"uid", e.uid},
                  {"case_id", e.case_id},
                  {"slide_id", e.slide_id},
                  {"body", e.body}};
        } else if constexpr (std::is_same_v<T, AnnotationUpdate>) {
          return {{"type", "annotation_update"}, {"uid", e.uid}, {"body", e.body}};
        } else if constexpr (std::is_same_v<T, AnnotationDelete>) {
          return {{"type", "annotation_delete"}, {"uid", e.uid}};
        } else {
          return {{"type", "report_draft"}, {"case_id", e.case_id}, {"body", e.body}};
        }
      },
      entry);
}

OutboxEntry entry_from_json(const json& j) {
  const std::string type = j.at("type").get<std::string>();
  if (type == "annotation_create") {
    return AnnotationCreate{j.at("uid").get<std::string>(), j.at("case_id").get<std::int64_t>(),
                            j.at("slide_id").get<std::string>(), j.at("body")};
  }
  if (type == "annotation_update") return AnnotationUpdate{j.at("uid").get<std::string>(), j.at("body")};
  if (type == "annotation_delete") return AnnotationDelete{j.at("uid").get<std::string>()};
  if (type == "report_draft") return ReportSave{j.at("case_id").get<std::int64_t>(), j.at("body")};
  throw std::invalid_argument("unknown entry type '" + type + "'");
}

json to_json(const RecordItem& item) {
  if (item.kind == RecordItem::Kind::report) return {{"report", item.case_id}};
  return {{"annotation", item.uid}};
}

RecordItem item_from_json(const json& j) {
  if (j.contains("report")) return RecordItem::report(j.at("report").get<std::int64_t>());
  return RecordItem::annotation(j.at("annotation").get<std::string>());
}

// ---- Report drafts ----

// Two ConsultReportUpdates as one: the server applies the keys present, and merges "fields" by name (a null
// field clears it), so the later draft's keys win and its fields go over the earlier draft's fields.
json merge_drafts(json earlier, const json& later) {
  for (const auto& [key, value] : later.items()) {
    if (key == "fields" && value.is_object() && earlier.contains("fields") && earlier["fields"].is_object()) {
      for (const auto& [name, review] : value.items()) earlier["fields"][name] = review;
    } else {
      earlier[key] = value;
    }
  }
  return earlier;
}

// ---- "Theirs" already holds "mine" ----
// A change the server applied but whose answer was lost (a crash, a cut connection) comes back as a 412 when
// sent again: when the server's current version already says what we sent, it is acknowledged, not a conflict.

bool annotation_holds(const json& mine, const json& theirs) {
  if (!mine.is_object() || !theirs.is_object() || !mine.contains("geometry")) return false;
  if (theirs.value("geometry", json()) != mine["geometry"]) return false;
  for (const char* key : {"label", "comment"}) {
    if (!mine.contains(key)) continue;
    const json want = mine[key].is_null() ? json("") : mine[key];
    if (theirs.value(key, json("")) != want) return false;
  }
  if (mine.contains("class") && mine["class"].is_object()) {
    const json their_class = theirs.value("class", json::object());
    for (const char* key : {"name", "color"}) {
      if (mine["class"].contains(key) && their_class.value(key, json("")) != mine["class"][key]) return false;
    }
  }
  return true;
}

bool report_holds(const json& mine, const json& theirs) {
  if (!mine.is_object() || !theirs.is_object()) return false;
  for (const auto& [key, value] : mine.items()) {
    if (key == "version") continue;
    if (key == "fields" && value.is_object()) {
      const json their_fields = theirs.value("fields", json::object());
      for (const auto& [name, review] : value.items()) {
        if (review.is_null()) {
          if (their_fields.contains(name)) return false;
          continue;
        }
        if (!their_fields.contains(name) || !review.is_object()) return false;
        const json& t = their_fields[name];
        if (t.value("verdict", "") != review.value("verdict", "")) return false;
        if (review.value("verdict", "") == "revised" && t.value("value", json()) != review.value("value", json())) {
          return false;
        }
      }
      continue;
    }
    if (!theirs.contains(key) || theirs[key] != value) return false;
  }
  return true;
}

}  // namespace

RecordItem item_of(const OutboxEntry& entry) {
  return std::visit(
      [](const auto& e) -> RecordItem {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ReportSave>) {
          return RecordItem::report(e.case_id);
        } else {
          return RecordItem::annotation(e.uid);
        }
      },
      entry);
}

// ---- The durable state ----

struct RecordOutbox::State {
  struct Queued {
    std::uint64_t seq = 0;
    OutboxEntry entry;
  };

  fs::path path;
  std::optional<JournalLock> lock;
  JournalFile file;
  std::size_t lines = 0;  // records in the file, for compaction
  std::uint64_t next_seq = 1;
  std::deque<Queued> queue;
  std::map<std::string, Known> annotations;
  std::map<std::int64_t, std::int64_t> reports;  // case ID -> report version
  std::vector<Conflict> conflicts;               // open, oldest first
  std::vector<Rejected> rejected;

  // Not journaled: for the app and the worker.
  std::vector<OutboxEvent> events;
  bool online = true;
  std::string last_error;
  bool stopping = false;
  bool sending = false;  // the worker has a request out
  Clock::time_point retry_at{};
  std::chrono::milliseconds backoff{0};

  const Conflict* conflict_of(const RecordItem& item) const {
    const auto it = std::find_if(conflicts.begin(), conflicts.end(), [&](const Conflict& c) { return c.item == item; });
    return it == conflicts.end() ? nullptr : &*it;
  }

  // What the server has of `item` now (a conflict's `theirs`): the version its next change is based on.
  void rebase(const RecordItem& item, const json& theirs) {
    const std::int64_t version = theirs.value("version", std::int64_t{0});
    if (item.kind == RecordItem::Kind::annotation) {
      const std::int64_t id = theirs.value("id", annotations.count(item.uid) ? annotations[item.uid].server_id : 0);
      record({{"op", "known"}, {"uid", item.uid}, {"id", id}, {"version", version}, {"deleted", false}});
    } else {
      record({{"op", "report"}, {"case_id", item.case_id}, {"version", version}});
    }
  }

  // Applies one record to the state (live, after writing it; and on replay).
  void apply(const json& r) {
    const std::string op = r.at("op").get<std::string>();
    if (op == "entry") {
      const auto seq = r.at("seq").get<std::uint64_t>();
      queue.push_back({seq, entry_from_json(r.at("entry"))});
      next_seq = std::max(next_seq, seq + 1);
    } else if (op == "done") {
      const auto seq = r.at("seq").get<std::uint64_t>();
      std::erase_if(queue, [&](const Queued& q) { return q.seq == seq; });
    } else if (op == "known") {
      annotations[r.at("uid").get<std::string>()] = {r.at("id").get<std::int64_t>(),
                                                     r.at("version").get<std::int64_t>(), r.value("deleted", false)};
    } else if (op == "report") {
      reports[r.at("case_id").get<std::int64_t>()] = r.at("version").get<std::int64_t>();
    } else if (op == "conflict") {
      Conflict c{item_from_json(r.at("item")), r.at("mine"), r.at("theirs")};
      std::erase_if(conflicts, [&](const Conflict& o) { return o.item == c.item; });
      conflicts.push_back(std::move(c));
    } else if (op == "resolved") {
      const RecordItem item = item_from_json(r.at("item"));
      std::erase_if(conflicts, [&](const Conflict& o) { return o.item == item; });
    } else if (op == "rejected") {
      const auto id = r.at("id").get<std::uint64_t>();
      rejected.push_back(
          {id, entry_from_json(r.at("entry")), r.at("status").get<int>(), r.at("message").get<std::string>()});
      next_seq = std::max(next_seq, id + 1);
    } else if (op == "dismissed") {
      const auto id = r.at("id").get<std::uint64_t>();
      std::erase_if(rejected, [&](const Rejected& x) { return x.id == id; });
    } else if (op == "next_seq") {
      next_seq = std::max(next_seq, r.at("next").get<std::uint64_t>());
    } else {
      throw std::invalid_argument("unknown record '" + op + "'");
    }
  }

  // Writes a record and applies it; durable at the next sync (or at once with `durably`).
  void record(const json& r, bool durably = false) {
    const std::string line = r.dump() + "\n";
    if (durably) {
      file.append_durably(line);
    } else {
      file.append(line);
    }
    ++lines;
    apply(r);
  }

  // The records that re-create the state, for a compacted journal.
  std::vector<json> snapshot() const {
    std::vector<json> out;
    out.push_back({{"op", "next_seq"}, {"next", next_seq}});
    std::set<std::string> referenced;
    for (const Queued& q : queue) referenced.insert(item_of(q.entry).uid);
    for (const auto& [uid, k] : annotations) {
      // A deleted annotation's mapping is kept only while a queued entry may still name it.
      if (k.deleted && !referenced.contains(uid)) continue;
      out.push_back(
          {{"op", "known"}, {"uid", uid}, {"id", k.server_id}, {"version", k.version}, {"deleted", k.deleted}});
    }
    for (const auto& [case_id, version] : reports) {
      out.push_back({{"op", "report"}, {"case_id", case_id}, {"version", version}});
    }
    for (const Queued& q : queue) out.push_back({{"op", "entry"}, {"seq", q.seq}, {"entry", to_json(q.entry)}});
    for (const Conflict& c : conflicts) {
      out.push_back({{"op", "conflict"}, {"item", to_json(c.item)}, {"mine", c.mine}, {"theirs", c.theirs}});
    }
    for (const Rejected& x : rejected) {
      out.push_back({{"op", "rejected"},
                     {"id", x.id},
                     {"entry", to_json(x.entry)},
                     {"status", x.status},
                     {"message", x.message}});
    }
    return out;
  }

  // Rewrites the journal as its snapshot (a temporary file renamed over it) once most of it is history.
  void compact_when_mostly_done() {
    const std::size_t live =
        1 + annotations.size() + reports.size() + queue.size() + conflicts.size() + rejected.size();
    if (lines < 64 || lines < 2 * live) return;
    compact();
  }

  void compact() {
    const fs::path temp = fs::path(path).concat(".tmp");
    const std::vector<json> records = snapshot();
    {
      JournalFile out(temp, true);
      std::string text;
      for (const json& r : records) text += r.dump() + "\n";
      out.append(text);
      out.sync();
    }
    fs::rename(temp, path);
    sync_directory(path.parent_path());
    file = JournalFile(path, false);
    lines = records.size();
  }

  // Reads the journal. A torn last line (a crash mid-write) is cut off; a bad line elsewhere is skipped
  // and said in last_error.
  void replay() {
    std::ifstream in(path, std::ios::binary);
    if (!in) return;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t pos = 0, good_end = 0, bad = 0;
    std::string first_bad;
    while (pos < text.size()) {
      const std::size_t nl = text.find('\n', pos);
      const bool complete = nl != std::string::npos;
      const std::string_view line(text.data() + pos, (complete ? nl : text.size()) - pos);
      const std::size_t next = complete ? nl + 1 : text.size();
      const json r = json::parse(line, nullptr, false);
      bool applied = false;
      if (complete && !r.is_discarded()) {
        try {
          apply(r);
          applied = true;
        } catch (const std::exception& e) {
          if (first_bad.empty()) first_bad = e.what();
        }
      }
      if (applied) {
        ++lines;
        good_end = next;
      } else if (next < text.size()) {
        ++bad;  // not the last line: a damaged record, skipped
        if (first_bad.empty()) first_bad = "not a JSON record";
        good_end = next;
      }
      pos = next;
    }
    if (good_end < text.size()) fs::resize_file(path, good_end);  // the torn tail
    if (bad > 0) {
      last_error = "outbox journal " + path.string() + ": " + std::to_string(bad) +
                   " damaged record(s) skipped (first: " + first_bad + ")";
    }
  }

  bool held(const RecordItem& item) const {
    return std::any_of(conflicts.begin(), conflicts.end(), [&](const Conflict& c) { return c.item == item; });
  }
  // The first queued entry whose item is not held by a conflict.
  std::deque<Queued>::const_iterator next_sendable() const {
    return std::find_if(queue.begin(), queue.end(), [&](const Queued& q) { return !held(item_of(q.entry)); });
  }
};

// ---- One attempt at sending ----

namespace {

struct Attempt {
  std::vector<std::uint64_t> seqs;  // the entries it settles (report drafts coalesced)
  OutboxEntry entry;                // as sent
  RecordItem item;
  std::string method, path;
  json body;  // null for a delete
  std::string if_match;
  std::int64_t server_id = 0;  // updates and deletes
  // Set when the entry cannot be sent at all (the annotation is not known to be on the server).
  std::optional<std::string> unsendable;
  bool already_gone = false;  // a delete of an annotation already deleted
};

struct Outcome {
  bool reached = false;
  int status = 0;
  json body;         // the answer, parsed (discarded when not JSON)
  std::string text;  // the answer as sent, or what went wrong
  json theirs;       // after a 412: the server's current version
};

bool transient(int status) { return status >= 500 || status == 401 || status == 408 || status == 429; }

}  // namespace

RecordOutbox::RecordOutbox(std::string base_url, std::string token, fs::path journal, OutboxOptions options)
    : client_(std::make_unique<ApiClient>(std::move(base_url), std::move(token), options.timeout)),
      options_(options),
      state_(std::make_unique<State>()) {
  State& s = *state_;
  s.path = std::move(journal);
  if (s.path.has_parent_path()) fs::create_directories(s.path.parent_path());
  try {
    s.lock.emplace(s.path);
    s.replay();
    s.file = JournalFile(s.path, false);
    sync_directory(s.path.parent_path());
  } catch (const std::exception& e) {
    throw std::runtime_error("record outbox: " + std::string(e.what()));
  }
  try {
    s.compact_when_mostly_done();
  } catch (const std::exception& e) {  // the long journal still serves
    s.last_error = "outbox journal not compacted: " + std::string(e.what());
  }
  // A new app instance learns what is still open.
  for (const Conflict& c : s.conflicts) s.events.emplace_back(c);
  for (const Rejected& x : s.rejected) s.events.emplace_back(x);
  worker_ = std::jthread([this] { run(); });
}

RecordOutbox::~RecordOutbox() {
  {
    std::lock_guard lock(mutex_);
    state_->stopping = true;
  }
  wake_.notify_all();
  client_->interrupt();
  if (worker_.joinable()) worker_.join();
}

std::uint64_t RecordOutbox::enqueue(OutboxEntry entry) {
  std::visit(
      [](auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ReportSave>) {
          if (e.case_id <= 0) throw std::invalid_argument("report draft names no case");
        } else {
          if (e.uid.empty()) throw std::invalid_argument("annotation change names no uid");
        }
        if constexpr (!std::is_same_v<T, AnnotationDelete>) {
          if (!e.body.is_object()) throw std::invalid_argument("the body of a change must be a JSON object");
        }
        if constexpr (std::is_same_v<T, AnnotationCreate>) {
          if (e.case_id <= 0 || e.slide_id.empty()) {
            throw std::invalid_argument("annotation create names no case or slide");
          }
          // The create's key on the server, fixed now (journaled with the body) so that every resend carries the
          // same one: the uid itself when it is a valid client_uid, else the body's, else a fresh one (a uid the
          // app made up for an annotation from elsewhere, re-created by an undo).
          const json given = e.body.value("client_uid", json());
          if (is_valid_client_uid(e.uid)) {
            e.body["client_uid"] = e.uid;
          } else if (!given.is_string() || !is_valid_client_uid(given.get<std::string>())) {
            e.body["client_uid"] = new_client_uid();
          }
        } else if constexpr (std::is_same_v<T, AnnotationUpdate>) {
          // The server keeps the client_uid fixed at creation; sending none is always right (one that differs,
          // or a made-up uid, would be refused).
          e.body.erase("client_uid");
        }
      },
      entry);
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mutex_);
    State& s = *state_;
    // An annotation deleted (or about to be) and created again, an undo of the delete: the server keeps the
    // deleted one under its client_uid (a create with it answers 410), so the new one gets a key of its own.
    if (auto* c = std::get_if<AnnotationCreate>(&entry)) {
      const auto known = s.annotations.find(c->uid);
      const bool deleted_before =
          (known != s.annotations.end() && known->second.deleted) ||
          std::any_of(s.queue.begin(), s.queue.end(), [&](const State::Queued& q) {
            const auto* d = std::get_if<AnnotationDelete>(&q.entry);
            return d != nullptr && d->uid == c->uid;
          });
      if (deleted_before) c->body["client_uid"] = new_client_uid();
    }
    seq = s.next_seq;
    s.record({{"op", "entry"}, {"seq", seq}, {"entry", to_json(entry)}}, true);
  }
  wake_.notify_all();
  return seq;
}

void RecordOutbox::remember(const std::string& uid, std::int64_t server_id, std::int64_t version) {
  std::lock_guard lock(mutex_);
  State& s = *state_;
  const auto it = s.annotations.find(uid);
  if (it != s.annotations.end() && it->second.server_id == server_id &&
      (it->second.deleted || it->second.version >= version)) {
    return;
  }
  // Durable with the next entry that needs it (that entry's sync covers this line).
  s.record({{"op", "known"}, {"uid", uid}, {"id", server_id}, {"version", version}, {"deleted", false}});
}

void RecordOutbox::remember_report(std::int64_t case_id, std::int64_t version) {
  std::lock_guard lock(mutex_);
  State& s = *state_;
  const auto it = s.reports.find(case_id);
  if (it != s.reports.end() && it->second >= version) return;
  s.record({{"op", "report"}, {"case_id", case_id}, {"version", version}});
}

std::optional<std::int64_t> RecordOutbox::report_version(std::int64_t case_id) const {
  std::lock_guard lock(mutex_);
  const auto it = state_->reports.find(case_id);
  if (it == state_->reports.end()) return std::nullopt;
  return it->second;
}

std::optional<RecordOutbox::Known> RecordOutbox::annotation(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  const auto it = state_->annotations.find(uid);
  if (it == state_->annotations.end()) return std::nullopt;
  return it->second;
}

bool RecordOutbox::resolve_keep_mine(const RecordItem& item) {
  {
    std::lock_guard lock(mutex_);
    State& s = *state_;
    const Conflict* open = s.conflict_of(item);
    if (open == nullptr) return false;
    const json theirs = open->theirs;
    // Mine goes again, based on theirs' version: the server takes it as a deliberate overwrite.
    s.rebase(item, theirs);
    s.record({{"op", "resolved"}, {"item", to_json(item)}, {"keep", "mine"}}, true);
  }
  wake_.notify_all();
  return true;
}

bool RecordOutbox::resolve_take_theirs(const RecordItem& item) {
  {
    std::lock_guard lock(mutex_);
    State& s = *state_;
    const Conflict* open = s.conflict_of(item);
    if (open == nullptr) return false;
    const json theirs = open->theirs;
    std::vector<std::uint64_t> dropped;
    for (const auto& q : s.queue) {
      if (item_of(q.entry) == item) dropped.push_back(q.seq);
    }
    for (const std::uint64_t seq : dropped) s.record({{"op", "done"}, {"seq", seq}});
    // Later changes of the item are based on theirs.
    s.rebase(item, theirs);
    s.record({{"op", "resolved"}, {"item", to_json(item)}, {"keep", "theirs"}}, true);
  }
  wake_.notify_all();
  return true;
}

bool RecordOutbox::dismiss_rejected(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  State& s = *state_;
  if (std::none_of(s.rejected.begin(), s.rejected.end(), [&](const Rejected& x) { return x.id == id; })) return false;
  s.record({{"op", "dismissed"}, {"id", id}}, true);
  return true;
}

std::vector<OutboxEvent> RecordOutbox::take_events() {
  std::lock_guard lock(mutex_);
  return std::exchange(state_->events, {});
}

OutboxStatus RecordOutbox::status() const {
  std::lock_guard lock(mutex_);
  const State& s = *state_;
  OutboxStatus out;
  out.pending = s.queue.size();
  out.online = s.online;
  out.last_error = s.last_error;
  for (const Conflict& c : s.conflicts) out.conflicts.push_back(c.item);
  out.rejected = s.rejected.size();
  return out;
}

bool RecordOutbox::drain(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  const State& s = *state_;
  return wake_.wait_for(lock, limit, [&] { return !s.sending && s.next_sendable() == s.queue.end(); });
}

// ---- The worker ----

void RecordOutbox::run() {
  State& s = *state_;
  std::unique_lock lock(mutex_);
  while (!s.stopping) {
    const auto front = s.next_sendable();
    if (front == s.queue.end()) {
      wake_.wait(lock);
      continue;
    }
    if (Clock::now() < s.retry_at) {
      wake_.wait_until(lock, s.retry_at);
      continue;
    }

    // What to send, read under the lock.
    Attempt a;
    a.entry = front->entry;
    a.item = item_of(a.entry);
    a.seqs.push_back(front->seq);
    std::visit(
        [&](auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, AnnotationCreate>) {
            a.method = "POST";
            a.path = "/api/cases/" + std::to_string(e.case_id) + "/slides/" + e.slide_id + "/annotations";
            a.body = e.body;  // with its client_uid (enqueue)
          } else if constexpr (std::is_same_v<T, ReportSave>) {
            // Consecutive drafts of the case go as one.
            for (auto next = std::next(front); next != s.queue.end(); ++next) {
              const auto* d = std::get_if<ReportSave>(&next->entry);
              if (d == nullptr || d->case_id != e.case_id) break;
              e.body = merge_drafts(std::move(e.body), d->body);
              a.seqs.push_back(next->seq);
            }
            e.body.erase("version");  // the base version goes in If-Match
            a.method = "PUT";
            a.path = "/api/cases/" + std::to_string(e.case_id) + "/report";
            a.body = e.body;
            const auto known = s.reports.find(e.case_id);
            a.if_match = version_tag(known == s.reports.end() ? 0 : known->second);
          } else {
            const auto known = s.annotations.find(e.uid);
            if (known == s.annotations.end()) {
              a.unsendable = "annotation " + e.uid +
                             " is not known to be on the server (its creation was refused, or it was never saved)";
              return;
            }
            a.server_id = known->second.server_id;
            a.path = "/api/annotations/" + std::to_string(a.server_id);
            a.if_match = version_tag(known->second.version);
            if constexpr (std::is_same_v<T, AnnotationUpdate>) {
              if (known->second.deleted) a.unsendable = "annotation " + e.uid + " was deleted";
              a.method = "PUT";
              a.body = e.body;
            } else {
              a.already_gone = known->second.deleted;
              a.method = "DELETE";
            }
          }
        },
        a.entry);

    Outcome o;
    if (!a.unsendable && !a.already_gone) {
      s.sending = true;
      lock.unlock();
      try {
        HttpReply reply;
        if (a.method == "POST") {
          reply = client_->post_json(a.path, a.body);
        } else if (a.method == "PUT") {
          reply = client_->put_json(a.path, a.body, a.if_match);
        } else {
          reply = client_->delete_(a.path, a.if_match);
        }
        o.reached = true;
        o.status = reply.status;
        o.text = reply.body;
        o.body = json::parse(reply.body, nullptr, false);
        if (o.status == 412) {
          if (a.item.kind == RecordItem::Kind::annotation && o.body.is_object() && o.body.contains("current") &&
              o.body["current"].is_object()) {
            o.theirs = o.body["current"];
          } else if (a.item.kind == RecordItem::Kind::annotation) {
            o.theirs = client_->get("/api/annotations/" + std::to_string(a.server_id));
          } else {
            o.theirs = client_->get("/api/cases/" + std::to_string(a.item.case_id) + "/report");
          }
        }
      } catch (const ApiError& e) {
        // Unreachable; or, after a 412, theirs could not be read (the annotation went meanwhile, say).
        o.reached = e.status != 0;
        o.status = e.status;
        o.text = e.what();
        o.body = json();
      }
      lock.lock();
      s.sending = false;
      if (s.stopping && !o.reached) break;  // cut by the destructor: the journal keeps the entry
    }

    // Settle the attempt.
    const std::string what = a.method + " " + a.path;
    try {
      const auto done = [&] {
        for (const std::uint64_t seq : a.seqs) s.record({{"op", "done"}, {"seq", seq}});
      };
      const auto acknowledge = [&](const json& server, bool deleted) {
        const std::int64_t version = server.is_object() ? server.value("version", std::int64_t{0}) : 0;
        std::int64_t id = 0;
        if (a.item.kind == RecordItem::Kind::annotation) {
          id = deleted ? a.server_id : server.value("id", a.server_id);
          s.record({{"op", "known"}, {"uid", a.item.uid}, {"id", id}, {"version", version}, {"deleted", deleted}});
        } else {
          s.record({{"op", "report"}, {"case_id", a.item.case_id}, {"version", version}});
        }
        done();
        s.events.emplace_back(Acknowledged{a.item, id, version, deleted, server});
      };
      const auto reject = [&](int status, const std::string& message) {
        const std::uint64_t id = a.seqs.front();
        s.record(
            {{"op", "rejected"}, {"id", id}, {"entry", to_json(a.entry)}, {"status", status}, {"message", message}});
        done();
        s.events.emplace_back(Rejected{id, a.entry, status, message});
      };

      if (a.unsendable) {
        reject(0, *a.unsendable);
      } else if (a.already_gone) {
        acknowledge({{"deleted", a.server_id}}, true);
      } else if (!o.reached || transient(o.status) || (o.status / 100 == 2 && !o.body.is_object())) {
        if (o.reached && !transient(o.status)) o.text = "{\"error\": \"the answer is not a JSON object\"}";
        s.online = false;
        s.last_error = o.reached ? what + ": " + describe_http_error(o.status, o.text) : o.text;
        s.backoff = s.backoff.count() == 0 ? options_.retry_initial : std::min(s.backoff * 2, options_.retry_max);
        s.retry_at = Clock::now() + s.backoff;
      } else {
        s.online = true;
        s.last_error.clear();
        s.backoff = std::chrono::milliseconds(0);
        const bool is_delete = a.method == "DELETE";
        if (o.status / 100 == 2) {
          acknowledge(is_delete ? json{{"deleted", a.server_id}} : o.body, is_delete);
        } else if (is_delete && o.status == 404) {
          acknowledge({{"deleted", a.server_id}}, true);  // gone already: what was asked
        } else if (o.status == 412 && o.theirs.is_object()) {
          const bool holds = a.item.kind == RecordItem::Kind::report ? report_holds(a.body, o.theirs)
                                                                     : !is_delete && annotation_holds(a.body, o.theirs);
          if (holds) {
            acknowledge(o.theirs, false);  // our own change, whose answer was lost
          } else {
            s.record({{"op", "conflict"}, {"item", to_json(a.item)}, {"mine", a.body}, {"theirs", o.theirs}});
            s.events.emplace_back(Conflict{a.item, a.body, o.theirs});
          }
        } else {
          reject(o.status, what + ": " + describe_http_error(o.status, o.text));
        }
      }
      lock.unlock();
      s.file.sync();  // settled on disk before the next entry goes (only this thread replaces the file)
      lock.lock();
      s.compact_when_mostly_done();
    } catch (const std::exception& e) {
      // The journal could not be written: the entry stays queued and goes again (safely: a create carries
      // its client_uid, the other changes If-Match).
      if (!lock.owns_lock()) lock.lock();
      s.last_error = std::string("outbox journal: ") + e.what();
      s.backoff = s.backoff.count() == 0 ? options_.retry_initial : std::min(s.backoff * 2, options_.retry_max);
      s.retry_at = Clock::now() + s.backoff;
    }
    lock.unlock();
    wake_.notify_all();
    lock.lock();
  }
}

}  // namespace reread::viewer
