// The annotations of one slide of one case as the viewer holds them: every edit a command with undo and
// redo, each applied change reported for the server's queue, selection, class visibility, hit testing,
// handles and measurements. Pure: no OpenGL, no ImGui, no network; the renderer and panels read it, the
// tools (annotation_tools.h) and panels change it through its commands.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "annotation_geometry.h"
#include "case_record.h"
#include "camera.h"

namespace reread::viewer {

// How an annotation was drawn, which decides its handles. The server stores geometry only, so an
// annotation loaded from it is a point (Point, MultiPoint), a ruler (LineString) or a polygon (Polygon,
// MultiPolygon); rectangle, ellipse and freehand live as long as the session that drew them.
enum class Shape { point, ruler, rectangle, ellipse, polygon, freehand };
// "point", "ruler", "rectangle", "ellipse", "polygon", "freehand".
std::string_view shape_name(Shape shape);

struct ViewerAnnotation {
  std::string uid;                        // 32 lowercase hex digits, or "srv-<id>" (see from_server_json)
  std::optional<std::int64_t> server_id;  // the server's id once it has stored it
  std::int64_t version = 0;               // the server's version (its If-Match); 0 until stored
  Shape shape = Shape::polygon;
  // Level-0 pixels. point: Point; ruler: LineString of 2; rectangle, ellipse, polygon, freehand: Polygon
  // with one closed ring.
  annotation::Geometry geometry;
  std::string class_name, color /* #rrggbb */, label, comment;
  friend bool operator==(const ViewerAnnotation&, const ViewerAnnotation&) = default;
};


// The server's Annotation JSON (id, version, geometry, class {name, color}, label, comment, client_uid).
// uid is client_uid, or "srv-<id>" when the annotation has none (made by another client). Throws
// std::invalid_argument (annotation::GeometryError for the geometry) saying which annotation and what.
ViewerAnnotation from_server_json(const nlohmann::json& j);
// The AnnotationInput body of a create or update: geometry, class {name, color}, label, comment, and the
// uid as client_uid ("srv-<id>" included, so an annotation re-created by an undo keeps its uid).
nlohmann::json to_input_json(const ViewerAnnotation& a);

// --- Shapes and their handles (used by the tools; pure functions of their arguments) ---

inline constexpr std::size_t ellipse_vertex_count = 64;
// The rectangle with corners a and b: one ring top-left, top-right, bottom-right, bottom-left, top-left.
annotation::Geometry rectangle_geometry(Vec2 a, Vec2 b);
// The ellipse inscribed in the box with corners a and b: one ring of 64 vertices (the first at the right
// end of the horizontal axis, then clockwise on screen) and the first repeated.
annotation::Geometry ellipse_geometry(Vec2 a, Vec2 b);
annotation::Geometry translated(const annotation::Geometry& geometry, Vec2 delta);
// The points a user can drag, indexed as with_handle_moved takes them: a point itself; a ruler's ends;
// a rectangle's corners (ring order); an ellipse's bounding-box corners (top-left, top-right,
// bottom-right, bottom-left); a polygon's or freehand's vertices (every ring, its closing repeat left out).
std::vector<Vec2> handles(const ViewerAnnotation& a);
// The geometry with handle `index` at `to`. A rectangle stays axis-aligned and an ellipse is rebuilt in its
// new box: the corner opposite the handle stays. A ring's first vertex moves its closing repeat too. An
// index out of range changes nothing.
annotation::Geometry with_handle_moved(const ViewerAnnotation& a, std::size_t index, Vec2 to);

// --- The document ---

struct Change {
  enum class Kind { created, updated, deleted };
  Kind kind;
  std::string uid;
  friend bool operator==(const Change&, const Change&) = default;
};

// One row of the annotation list panel.
struct AnnotationRow {
  std::string uid, label, class_name, color;
  std::string_view shape;           // shape_name()
  std::optional<double> length_um;  // ruler: length; closed shapes: perimeter
  std::optional<double> area_mm2;   // closed shapes
  annotation::Bounds bounds;        // level-0 pixels: where to centre the view
  bool visible = true;              // its class is shown
};

// Commands (add, replace, remove, a committed edit, undo, redo) each apply one change and report it
// through take_changes(). server_id and version belong to the server: they change only through
// apply_server_state and replace_from_server, never through a command or its undo, so an undo sends the
// server the version it last acknowledged.
class AnnotationDocument {
 public:
  static constexpr std::size_t history_limit = 256;  // undo steps kept; the oldest drop

  // --- Commands (each one undo step) ---

  // Adds a new annotation (a fresh uid when `a.uid` is empty) last in creation order, not yet on
  // the server (server_id and version cleared). Returns its uid. Throws std::invalid_argument on a uid
  // already present, annotation::GeometryError on an invalid geometry.
  std::string add(ViewerAnnotation a);
  // Replaces the annotation with the same uid (shape, geometry, class, label, comment). False when there
  // is none; an identical replacement is no step and no change. Throws annotation::GeometryError.
  bool replace(const ViewerAnnotation& a);
  // False when there is none.
  bool remove(const std::string& uid);

  // A drag is one step however many moves it takes: begin_edit, then update_edit for every move (the
  // annotation changes at once for the renderer, but no step is made and no change is reported), then
  // commit_edit (one step and one `updated` change, none when the geometry came back to where it was) or
  // cancel_edit (back as it was). Another command or an undo commits an open edit first.
  bool begin_edit(const std::string& uid);          // false when there is no such annotation
  bool update_edit(annotation::Geometry geometry);  // false when no edit is open
  bool commit_edit();                               // false when no edit is open
  void cancel_edit();
  const std::string& editing() const { return edit_uid_; }  // "" when no edit is open

  // Undo of a create removes the annotation; undo of a delete brings it back with the same uid and at
  // its place in creation order, not on the server any more (server_id cleared: it is created again).
  bool undo();
  bool redo();
  bool can_undo() const { return !undo_.empty(); }
  bool can_redo() const { return !redo_.empty(); }

  // The changes applied since the last call, oldest first, for the server's queue.
  std::vector<Change> take_changes();

  // --- What the server says (no undo step, no change reported) ---

  // The server stored `uid` as `server_id` at `version`. False when there is no such annotation.
  bool apply_server_state(const std::string& uid, std::int64_t server_id, std::int64_t version);
  // Takes the server's annotation as it is (loading, or a conflict resolved in the server's favour):
  // replaces the one with the same uid or adds it last. The local undo history of that annotation is
  // dropped, so an undo cannot send back what the server overruled. Throws annotation::GeometryError.
  void replace_from_server(const ViewerAnnotation& a);

  // --- Queries ---

  const std::vector<ViewerAnnotation>& all() const { return annotations_; }  // creation order
  const ViewerAnnotation* find(const std::string& uid) const;                // nullptr when absent
  // Bumped whenever anything drawn changes (annotations, selection, visibility, server state), so a
  // renderer knows when to rebuild.
  std::uint64_t revision() const { return revision_; }

  void select(const std::string& uid);                       // "" or an unknown uid clears the selection
  const std::string& selected() const { return selected_; }  // "" when none

  // Every class is visible until hidden. Hiding the selected annotation's class clears the selection.
  void set_class_visible(const std::string& class_name, bool visible);
  bool class_visible(const std::string& class_name) const;
  bool visible(const std::string& uid) const;  // present and its class visible

  // The uid of the latest visible annotation under p (level-0 pixels): within `tolerance` of a point, a
  // ruler's segment or a ring's boundary, or inside a closed shape (holes excluded).
  std::optional<std::string> hit(Vec2 p, double tolerance) const;
  // The index of the handle of `uid` nearest p within `tolerance` (see handles()).
  std::optional<std::size_t> vertex_at(const std::string& uid, Vec2 p, double tolerance) const;

  // Ruler: length in µm; closed shapes: perimeter in µm and area in mm²; nothing for points, unknown
  // uids or an unusable calibration (annotation::measure).
  annotation::Measurement measure(const std::string& uid, double mpp_x, double mpp_y) const;
  std::vector<AnnotationRow> rows(double mpp_x, double mpp_y) const;

 private:
  // The annotation before and after one command; nullopt is "absent". `index` is its place in creation
  // order, where an undone delete puts it back.
  struct Step {
    std::string uid;
    std::optional<ViewerAnnotation> before, after;
    std::size_t index = 0;
  };
  void record(Step step);
  void apply(const std::string& uid, const std::optional<ViewerAnnotation>& state, std::size_t index);
  std::ptrdiff_t index_of(const std::string& uid) const;
  void changed() { ++revision_; }

  std::vector<ViewerAnnotation> annotations_;
  mutable std::unordered_map<std::string, std::size_t> index_;  // uid -> position in annotations_
  mutable bool index_stale_ = true;
  std::deque<Step> undo_, redo_;
  std::vector<Change> changes_;
  std::string selected_;
  std::set<std::string> hidden_classes_;
  std::string edit_uid_;
  std::optional<ViewerAnnotation> edit_before_;
  std::uint64_t revision_ = 0;
};

}  // namespace reread::viewer
