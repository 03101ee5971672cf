// The re-read record as the app holds it: the annotation documents of the slides opened from cases, the
// consult report being written, and the outbox that takes every change to the server. Each frame, pump()
// hands the documents' changes to the outbox and the outbox's answers back to the documents and the report;
// conflicts wait here for the consultant's choice. No UI: panels read it, the app calls it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "annotation_document.h"
#include "app_catalogue.h"
#include "record_outbox.h"
#include "report_draft.h"

namespace reread::viewer {

// Where the outbox journal of this server and user lives: DIR/outbox-<hash of URL and token>.jsonl, DIR being
// `state_dir`, else $XDG_STATE_HOME/reread, else ~/.local/state/reread. The token itself is not written.
std::filesystem::path outbox_journal_path(const std::string& state_dir, const std::string& base_url,
                                          const std::string& token);

class AppRecord {
 public:
  // Throws std::runtime_error when the journal cannot be opened or another viewer holds it.
  AppRecord(std::string base_url, std::string token, const std::filesystem::path& journal);

  // The annotations of a slide of a case (made on first use).
  AnnotationDocument& document(std::int64_t case_id, const std::string& slide_id);
  // The server's list: the annotations this viewer does not hold yet are taken as the server has them.
  void load_annotations(const AnnotationsLoaded& loaded);

  // The case and its report from the server: a new draft, or the server's word on the one open.
  void load_report(const ReportLoaded& loaded);
  std::optional<ReportDraft>& draft() { return draft_; }
  const std::optional<ReportDraft>& draft() const { return draft_; }
  // The consultant changed the draft at `now` (seconds): it is saved once typing pauses.
  void draft_edited(double now);
  // The blinded first read's impression goes to the server now (through the outbox); when it has taken
  // it, the case is fetched again (the original is revealed) through `catalogue`.
  void record_impression();

  // Once per frame, from the UI thread.
  void pump(double now, AppCatalogue* catalogue);

  struct OpenConflict {
    Conflict conflict;
    std::string description;  // "annotation 'Tumour front' (id 12)", "the consult report"
  };
  const std::vector<OpenConflict>& conflicts() const { return conflicts_; }
  void resolve(const RecordItem& item, bool keep_mine);
  const std::vector<Rejected>& rejected() const { return rejected_; }
  void dismiss(std::uint64_t rejected_id);

  // "saved", "saving (2 waiting)", "offline: 3 changes waiting", "conflict: ..." for the status lines.
  std::string save_status() const;
  bool save_trouble() const;
  OutboxStatus outbox_status() const { return outbox_.status(); }
  // Waits until the outbox has sent what it can (closing the viewer, tests).
  bool drain(std::chrono::milliseconds limit) { return outbox_.drain(limit); }

 private:
  AnnotationDocument* owner_of(const std::string& uid, std::int64_t* case_id = nullptr,
                               std::string* slide_id = nullptr);
  void send_changes();
  void take_events(AppCatalogue* catalogue);

  RecordOutbox outbox_;
  std::map<std::pair<std::int64_t, std::string>, std::unique_ptr<AnnotationDocument>> documents_;
  std::optional<ReportDraft> draft_;
  double draft_edited_at_ = -1;   // seconds; -1 when no save is due
  nlohmann::json draft_queued_;   // the last draft body queued, so an unchanged draft is not queued again
  bool impression_sent_ = false;  // the impression's answer is awaited: then fetch the case again
  std::vector<OpenConflict> conflicts_;
  std::vector<Rejected> rejected_;
};

}  // namespace reread::viewer
