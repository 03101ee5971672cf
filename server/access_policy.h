// Who may do what to a case: a pure decision from the user's role and their relation to the case.
// The store works out the relation; the routes ask here and deny with the reason given.
#pragma once

#include <string>

#include "case_record.h"

namespace reread {

enum class Action {
  read_case,   // the case, its original report (blinding aside), its slides' metadata
  read_slide,  // tiles, thumbnails, macro image
  read_label,  // the slide label, which carries patient identifiers
  read_annotations,
  write_annotations,
  read_consult_report,   // the revised diagnosis
  write_consult_report,  // drafts, sign-out, addenda
  manage_case,           // assign, share, attach slides, change status
};

// The user's relation to one case, as stored.
struct CaseRelation {
  bool assigned = false;   // consultant assigned to it
  bool requested = false;  // referrer who asked for it
  bool shared = false;     // a board the user sits on sees it
  bool signed_out = false;
};

struct Decision {
  bool allowed = false;
  std::string reason;  // why not, for the 403 body and the audit log
};

Decision decide(const Principal& who, Action action, const CaseRelation& relation);
const char* to_string(Action a);

}  // namespace reread
