// Documents, report draft and outbox, kept in step once per frame.
#include "app_record.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace reread::viewer {

namespace {

// FNV-1a, 64 bits: a stable name for a server and user's journal that does not reveal the token.
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

constexpr double kAutosaveAfterS = 1.0;  // a draft is saved once typing has paused this long

}  // namespace

std::filesystem::path outbox_journal_path(const std::string& state_dir, const std::string& base_url,
                                          const std::string& token) {
  std::filesystem::path dir;
  if (!state_dir.empty()) {
    dir = state_dir;
  } else if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
    dir = std::filesystem::path(xdg) / "reread";
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    dir = std::filesystem::path(home) / ".local" / "state" / "reread";
  } else {
    throw std::runtime_error("no place for the outbox journal: set HOME, XDG_STATE_HOME or --state-dir");
  }
  char name[64];
  std::snprintf(name, sizeof name, "outbox-%016llx.jsonl",
                static_cast<unsigned long long>(fnv1a(base_url + "\n" + token)));
  return dir / name;
}

AppRecord::AppRecord(std::string base_url, std::string token, const std::filesystem::path& journal)
    : outbox_(std::move(base_url), std::move(token), journal) {}

AnnotationDocument& AppRecord::document(std::int64_t case_id, const std::string& slide_id) {
  auto& d = documents_[{case_id, slide_id}];
  if (!d) d = std::make_unique<AnnotationDocument>();
  return *d;
}

AnnotationDocument* AppRecord::owner_of(const std::string& uid, std::int64_t* case_id, std::string* slide_id) {
  for (auto& [key, d] : documents_) {
    if (d->find(uid) != nullptr) {
      if (case_id != nullptr) *case_id = key.first;
      if (slide_id != nullptr) *slide_id = key.second;
      return d.get();
    }
  }
  return nullptr;
}

void AppRecord::load_annotations(const AnnotationsLoaded& loaded) {
  AnnotationDocument& doc = document(loaded.case_id, loaded.slide_id);
  std::set<std::int64_t> held_ids;
  for (const ViewerAnnotation& mine : doc.all()) {
    if (mine.server_id) held_ids.insert(*mine.server_id);
  }
  for (const auto& j : loaded.annotations) {
    ViewerAnnotation a;
    try {
      a = from_server_json(j);
    } catch (const std::exception&) {
      continue;  // a geometry this viewer cannot draw stays on the server untouched
    }
    // One we hold already may have changes of ours on their way: ours stand (a later edit that meets a
    // newer server version comes back as a conflict, never an overwrite).
    const bool held = doc.find(a.uid) != nullptr || (a.server_id && held_ids.count(*a.server_id) != 0);
    if (held) continue;
    if (a.server_id) outbox_.remember(a.uid, *a.server_id, a.version);
    doc.replace_from_server(a);
  }
}

void AppRecord::load_report(const ReportLoaded& loaded) {
  if (draft_ && draft_->case_id() == loaded.case_id) {
    draft_->apply_case(loaded.case_json);
    // After a sign-out or an addendum the server's report is the whole truth; after a plain load, edits
    // made meanwhile stay on top of it.
    if (!loaded.done.empty()) {
      draft_->apply_server_report(loaded.report_json);
    } else {
      draft_->mark_saved(loaded.report_json);
    }
  } else {
    draft_.emplace(loaded.case_json, loaded.report_json);
    draft_queued_ = nlohmann::json();
    draft_edited_at_ = -1;
  }
  if (loaded.report_json.contains("version") && loaded.report_json["version"].is_number_integer()) {
    const auto version = loaded.report_json["version"].get<std::int64_t>();
    if (version >= outbox_.report_version(loaded.case_id).value_or(0)) outbox_.remember_report(loaded.case_id, version);
  }
}

void AppRecord::draft_edited(double now) { draft_edited_at_ = now; }

void AppRecord::record_impression() {
  if (!draft_) return;
  if (auto body = draft_->record_impression()) {
    outbox_.enqueue(ReportSave{draft_->case_id(), *body});
    impression_sent_ = true;
  }
}

void AppRecord::send_changes() {
  for (auto& [key, doc] : documents_) {
    for (const Change& c : doc->take_changes()) {
      const ViewerAnnotation* a = doc->find(c.uid);
      switch (c.kind) {
        case Change::Kind::created:
          if (a != nullptr) outbox_.enqueue(AnnotationCreate{a->uid, key.first, key.second, to_input_json(*a)});
          break;
        case Change::Kind::updated:
          if (a != nullptr) outbox_.enqueue(AnnotationUpdate{a->uid, to_input_json(*a)});
          break;
        case Change::Kind::deleted:
          outbox_.enqueue(AnnotationDelete{c.uid});
          break;
      }
    }
  }
}

void AppRecord::take_events(AppCatalogue* catalogue) {
  for (OutboxEvent& event : outbox_.take_events()) {
    std::visit(
        [&](auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, Acknowledged>) {
            if (e.item.kind == RecordItem::Kind::annotation) {
              if (AnnotationDocument* doc = owner_of(e.item.uid); doc != nullptr && !e.deleted) {
                doc->apply_server_state(e.item.uid, e.server_id, e.version);
              } else if (doc == nullptr && !e.deleted && e.server.is_object()) {
                // Sent from the journal of an earlier session: show it where it now is on the server.
                const std::int64_t case_id = e.server.value("case_id", std::int64_t{0});
                const std::string slide_id = e.server.value("slide_id", std::string());
                const auto it = documents_.find({case_id, slide_id});
                if (it != documents_.end()) {
                  try {
                    ViewerAnnotation a = from_server_json(e.server);
                    a.uid = e.item.uid;
                    it->second->replace_from_server(a);
                  } catch (const std::exception&) {
                  }
                }
              }
            } else if (draft_ && draft_->case_id() == e.item.case_id) {
              draft_->mark_saved(e.server);
              if (impression_sent_ && draft_->impression_recorded()) {
                impression_sent_ = false;
                if (catalogue != nullptr) catalogue->request_report(e.item.case_id);  // the original, revealed
              }
            }
          } else if constexpr (std::is_same_v<T, Conflict>) {
            std::string what = "the consult report";
            if (e.item.kind == RecordItem::Kind::annotation) {
              const AnnotationDocument* doc = owner_of(e.item.uid);
              const ViewerAnnotation* a = doc != nullptr ? doc->find(e.item.uid) : nullptr;
              what = "annotation '" + (a != nullptr && !a->label.empty() ? a->label : e.item.uid) + "'";
              if (a != nullptr && a->server_id) what += " (id " + std::to_string(*a->server_id) + ")";
            }
            conflicts_.push_back({std::move(e), what});
          } else if constexpr (std::is_same_v<T, Rejected>) {
            rejected_.push_back(std::move(e));
          }
        },
        event);
  }
}

void AppRecord::pump(double now, AppCatalogue* catalogue) {
  send_changes();
  if (draft_ && draft_edited_at_ >= 0 && now - draft_edited_at_ >= kAutosaveAfterS) {
    draft_edited_at_ = -1;
    const nlohmann::json body = draft_->update_body();
    if (draft_->dirty() && !body.empty() && body != draft_queued_) {
      outbox_.enqueue(ReportSave{draft_->case_id(), body});
      draft_queued_ = body;
    }
  }
  take_events(catalogue);
}

void AppRecord::resolve(const RecordItem& item, bool keep_mine) {
  const auto it = std::find_if(conflicts_.begin(), conflicts_.end(),
                               [&](const OpenConflict& c) { return c.conflict.item == item; });
  if (it == conflicts_.end()) return;
  if (keep_mine) {
    outbox_.resolve_keep_mine(item);
  } else {
    outbox_.resolve_take_theirs(item);
    const nlohmann::json& theirs = it->conflict.theirs;
    if (item.kind == RecordItem::Kind::annotation) {
      if (AnnotationDocument* doc = owner_of(item.uid); doc != nullptr && theirs.is_object()) {
        try {
          ViewerAnnotation a = from_server_json(theirs);
          a.uid = item.uid;
          doc->replace_from_server(a);
        } catch (const std::exception&) {
        }
      }
    } else if (draft_ && draft_->case_id() == item.case_id && theirs.is_object()) {
      draft_->apply_server_report(theirs);
      draft_queued_ = nlohmann::json();
    }
  }
  conflicts_.erase(it);
}

void AppRecord::dismiss(std::uint64_t rejected_id) {
  outbox_.dismiss_rejected(rejected_id);
  std::erase_if(rejected_, [&](const Rejected& r) { return r.id == rejected_id; });
}

std::string AppRecord::save_status() const {
  const OutboxStatus s = outbox_.status();
  if (!conflicts_.empty()) return "conflict: " + conflicts_.front().description + " changed on the server";
  if (!s.online) {
    return "offline: " + std::to_string(s.pending) + " change" + (s.pending == 1 ? "" : "s") +
           " kept on disk, sent when the server is back" + (s.last_error.empty() ? "" : " (" + s.last_error + ")");
  }
  if (!rejected_.empty()) return "refused by the server: " + rejected_.back().message;
  if (s.pending > 0) return "saving (" + std::to_string(s.pending) + " waiting)";
  if (draft_edited_at_ >= 0) return "editing";
  return "saved";
}

bool AppRecord::save_trouble() const {
  const OutboxStatus s = outbox_.status();
  return !conflicts_.empty() || !s.online || !rejected_.empty();
}

}  // namespace reread::viewer
