// Rights: consultants work on the cases assigned to them; referrers see the cases they asked about and
// the signed answer; boards see what is shared with them, read-only; admins see everything but do not
// write diagnoses, which only the assigned consultant signs.
#include "access_policy.h"

namespace reread {

const char* to_string(Action a) {
  switch (a) {
    case Action::read_case:
      return "read case";
    case Action::read_slide:
      return "read slide";
    case Action::read_label:
      return "read slide label";
    case Action::read_annotations:
      return "read annotations";
    case Action::write_annotations:
      return "write annotations";
    case Action::read_consult_report:
      return "read consult report";
    case Action::write_consult_report:
      return "write consult report";
    case Action::manage_case:
      return "manage case";
  }
  return "?";
}

Decision decide(const Principal& who, Action action, const CaseRelation& rel) {
  const auto allow = [] { return Decision{true, {}}; };
  const auto deny = [](std::string reason) { return Decision{false, std::move(reason)}; };
  switch (who.role) {
    case Role::admin:
      if (action == Action::write_consult_report) return deny("only the assigned consultant writes the consult report");
      return allow();
    case Role::consultant:
      if (!rel.assigned) return deny("the case is not assigned to this consultant");
      if (action == Action::manage_case) return deny("only an admin manages cases");
      return allow();
    case Role::referrer:
    case Role::board: {
      // Both read what they are let into and change nothing; they differ in what lets them in.
      const bool referrer = who.role == Role::referrer;
      if (referrer ? !rel.requested : !rel.shared) {
        return deny(referrer ? "the case was not requested by this referrer"
                             : "the case is not shared with this user's board");
      }
      switch (action) {
        case Action::read_case:
        case Action::read_slide:
        case Action::read_annotations:
          return allow();
        case Action::read_consult_report:
          return rel.signed_out ? allow() : deny("the consult report is not signed out yet");
        case Action::read_label:
          return deny("slide labels carry patient identifiers: consultants of the case and admins only");
        default:
          return deny(referrer ? "referrers read their cases; they do not change them"
                               : "tumour board access is read-only");
      }
    }
  }
  return deny("unknown role");
}

}  // namespace reread
