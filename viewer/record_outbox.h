// The viewer's lossless outbox: every annotation change and report draft the consultant makes goes to
// reread-server in order, with the version it was based on. Each change is on disk (a journal of JSON lines,
// fsync'ed) before enqueue() returns, so changes made while the server is unreachable, or before the viewer
// was closed, are sent when it is back. A version conflict (412) is handed to the app with both versions and
// never overwritten silently; a change the server refuses is reported, never dropped silently.
//
// Use: one outbox per server and user. The UI thread enqueues and, each frame, takes the events and reads
// status(); a worker thread does the sending. No UI here.
#pragma once

#include <chrono>
#include <compare>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "case_record.h"

namespace reread::viewer {

class ApiClient;

// A new annotation on a slide of a case. `uid` is the viewer's own key for it (new_client_uid, model/case_record.h), sent as
// the body's client_uid, so that a create sent again after a lost answer finds the first one. (A uid that is
// not a valid client_uid, e.g. one the app made up for an annotation from elsewhere, still works: the body's
// own client_uid or a fresh one is sent instead, the same on every resend.) `body` is an AnnotationInput:
// {geometry (GeoJSON), class: {name, color}, label, comment}.
struct AnnotationCreate {
  std::string uid;
  std::int64_t case_id = 0;
  std::string slide_id;
  nlohmann::json body;
};
// A changed annotation (the whole AnnotationInput): sent to the server ID its create or remember() gave `uid`,
// with If-Match of the last version known. A client_uid in the body is left out (the server keeps its own).
struct AnnotationUpdate {
  std::string uid;
  nlohmann::json body;
};
struct AnnotationDelete {
  std::string uid;
};
// A consult report draft: a ConsultReportUpdate (only the keys it changes). Consecutive drafts of one case
// are sent as one.
struct ReportSave {
  std::int64_t case_id = 0;
  nlohmann::json body;
};
using OutboxEntry = std::variant<AnnotationCreate, AnnotationUpdate, AnnotationDelete, ReportSave>;

// What an entry changes: one annotation (by its uid) or one case's consult report.
struct RecordItem {
  enum class Kind { annotation, report };
  Kind kind = Kind::annotation;
  std::string uid;           // annotation
  std::int64_t case_id = 0;  // report
  static RecordItem annotation(std::string uid) { return {Kind::annotation, std::move(uid), 0}; }
  static RecordItem report(std::int64_t case_id) { return {Kind::report, {}, case_id}; }
  auto operator<=>(const RecordItem&) const = default;
};
RecordItem item_of(const OutboxEntry& entry);

// ---- Events for the app (take_events) ----
// The server took a change. `server` is its answer: the Annotation or ConsultReport (for a delete, {"deleted": id}).
struct Acknowledged {
  RecordItem item;
  std::int64_t server_id = 0;  // the annotation's ID (0 for a report)
  std::int64_t version = 0;    // its version now
  bool deleted = false;
  nlohmann::json server;
};
// The change was based on an older version than the server's (412). `mine` is what we sent (null for a
// delete), `theirs` the server's current Annotation or ConsultReport. (A 412 whose `theirs` already says
// what `mine` says, our own change whose answer was lost, is acknowledged instead.) The item's entries wait
// until resolve_keep_mine or resolve_take_theirs; other items' entries go on. Open conflicts are reported
// again after a restart.
struct Conflict {
  RecordItem item;
  nlohmann::json mine, theirs;
};
// The server refused the change (400, 403, 404, 409, 410, 422, ...), or it cannot be sent (status 0: an
// update or delete of an annotation the server never had). Taken out of the queue and kept, journaled,
// until dismiss_rejected(id): reported again after a restart until then.
struct Rejected {
  std::uint64_t id = 0;
  OutboxEntry entry;
  int status = 0;
  std::string message;
};
using OutboxEvent = std::variant<Acknowledged, Conflict, Rejected>;

struct OutboxStatus {
  std::size_t pending = 0;  // changes not yet taken by the server (those held by conflicts included)
  bool online = true;       // false from a failed attempt (unreachable, timeout, 5xx, token refused) to the next answer
  std::string last_error;   // the last failure, for the status line ("" after a success)
  std::vector<RecordItem> conflicts;  // open, oldest first
  std::size_t rejected = 0;           // kept until dismissed
};

struct OutboxOptions {
  std::chrono::milliseconds retry_initial{250};  // the first wait after a failure, doubling up to retry_max
  std::chrono::milliseconds retry_max{8000};
  std::chrono::milliseconds timeout{10000};  // connecting, and each request's answer
};


// Thread-safe. The constructor throws std::runtime_error when the journal cannot be opened, or when another
// outbox (another viewer of the same server and user) holds it.
class RecordOutbox {
 public:
  // `journal` is this server's and user's file; it is created when missing and replayed when present (the
  // entries it holds are sent again, to `base_url` now). Throws std::invalid_argument for a bad base_url.
  RecordOutbox(std::string base_url, std::string token, std::filesystem::path journal, OutboxOptions options = {});
  // Stops the worker at once, cutting a request in flight; what was not acknowledged stays in the journal.
  ~RecordOutbox();
  RecordOutbox(const RecordOutbox&) = delete;
  RecordOutbox& operator=(const RecordOutbox&) = delete;

  // Queues a change; it is on disk when this returns. Never waits on the network. Returns the entry's
  // sequence number. Throws std::invalid_argument for an entry without its uid or case, or whose body is not
  // a JSON object; std::system_error when the journal cannot be written (the change is not taken).
  std::uint64_t enqueue(OutboxEntry entry);

  // Registers an annotation loaded from the server (its id and version) under the app's uid for it, so that
  // updates and deletes find it, after a restart too. An annotation without a client_uid needs a uid the app
  // makes up (stable for that annotation, e.g. "server-17"). A lower version than the known one is ignored.
  void remember(const std::string& uid, std::int64_t server_id, std::int64_t version);
  // The report version the next draft of the case is based on (0, a new draft, when none is known).
  void remember_report(std::int64_t case_id, std::int64_t version);
  std::optional<std::int64_t> report_version(std::int64_t case_id) const;
  // What the outbox knows of an annotation: its server ID and version (from its create, its last
  // acknowledged change or remember()), and whether it was deleted.
  struct Known {
    std::int64_t server_id = 0, version = 0;
    bool deleted = false;
  };
  std::optional<Known> annotation(const std::string& uid) const;

  // Resolves an open conflict: send mine again based on theirs' version, or drop our queued changes of the
  // item (the app shows theirs). False when the item has no open conflict.
  bool resolve_keep_mine(const RecordItem& item);
  bool resolve_take_theirs(const RecordItem& item);
  // Forgets a rejection the app has shown. False when there is none with this id.
  bool dismiss_rejected(std::uint64_t id);

  // Acknowledgements, conflicts and rejections since the last call, oldest first (for the UI thread).
  std::vector<OutboxEvent> take_events();
  OutboxStatus status() const;
  // Waits until nothing can be sent now (the queue is empty or held by conflicts) or `limit` passes; true
  // in the first case. For closing the viewer politely, and for tests.
  bool drain(std::chrono::milliseconds limit);

 private:
  struct State;
  void run();

  std::unique_ptr<ApiClient> client_;  // the worker's; the destructor interrupts it
  const OutboxOptions options_;
  std::unique_ptr<State> state_;  // queue, maps, conflicts, rejections, events, status and the journal file
  mutable std::mutex mutex_;      // guards *state_ (the worker never holds it over the network)
  std::condition_variable wake_;  // work, a resolution or stop for the worker; progress for drain()
  std::jthread worker_;
};

}  // namespace reread::viewer
