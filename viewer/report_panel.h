// The consult report panel: the original report (read-only) beside the consult report, field by field, the
// blinded first read, discrepancy, texts with annotation references, sign-out and addenda. It reads a
// ReportDraft and returns intents; the app applies them (edits to the draft, requests to the server).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "report_draft.h"

namespace reread::viewer {

namespace report_intent {
struct RecordImpression {};  // send draft.record_impression()'s body, then fetch the case again
struct Sign {};              // POST .../report/sign (the user confirmed in the modal; draft.can_sign() held)
struct AddAddendum {         // POST .../report/addenda
  std::string text;
};
struct CentreOnAnnotation {  // a reference was clicked
  std::int64_t annotation_id = 0;
};
struct ExportPdf {};  // GET .../report.pdf
}  // namespace report_intent

// Edits go to ReportDraft::apply (then autosave when draft.dirty()); the rest are requests for the app.
using ReportIntent =
    std::variant<ReportEdit, report_intent::RecordImpression, report_intent::Sign, report_intent::AddAddendum,
                 report_intent::CentreOnAnnotation, report_intent::ExportPdf>;

struct AnnotationChoice {
  std::int64_t id = 0;
  std::string label;  // "Tumour: invasive front"
};

struct ReportPanelInput {
  const ReportDraft& draft;
  std::vector<AnnotationChoice> annotations;  // what "Insert reference" offers and references are named by
  std::string save_status;                    // "saved", "saving", "offline, 3 waiting", "conflict: ..."
  bool save_trouble = false;                  // offline or conflict: the status line is drawn as a warning
  bool request_pending = false;               // a sign-out or addendum request is on its way: its buttons wait
};

// Draws into the current ImGui window (the app places it: a window or a child region).
void report_panel(const ReportPanelInput& in, std::vector<ReportIntent>& intents);

}  // namespace reread::viewer
