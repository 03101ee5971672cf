// An annotation's geometry in level-0 pixel coordinates: GeoJSON parsing and writing, bounds and
// measurement in microns. Pure code: no I/O; the record and the interchange formats build on it.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <variant>
#include <vector>

namespace reread::annotation {

// x to the right, y down, in level-0 pixels (the convention of OpenSlide, QuPath, ASAP and ImageScope).
struct Position {
  double x = 0, y = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

// A closed ring: front() == back(), at least 4 positions (a triangle and its closing vertex).
using Ring = std::vector<Position>;

struct Point {
  Position position;
  friend bool operator==(const Point&, const Point&) = default;
};
struct MultiPoint {
  std::vector<Position> positions;  // at least 1
  friend bool operator==(const MultiPoint&, const MultiPoint&) = default;
};
struct LineString {
  std::vector<Position> positions;  // at least 2
  friend bool operator==(const LineString&, const LineString&) = default;
};
struct Polygon {
  std::vector<Ring> rings;  // rings[0] is the outer boundary, the others are holes; at least 1
  friend bool operator==(const Polygon&, const Polygon&) = default;
};
struct MultiPolygon {
  std::vector<Polygon> polygons;  // at least 1
  friend bool operator==(const MultiPolygon&, const MultiPolygon&) = default;
};

using Geometry = std::variant<Point, MultiPoint, LineString, Polygon, MultiPolygon>;

// std::visit with one lambda per geometry type.
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

// A geometry that breaks the rules above; the message says where ("Polygon ring 0 is not closed ...").
class GeometryError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Strict RFC 7946 geometry object ({"type": ..., "coordinates": ...}) of one of the five types above. A
// position is [x, y]; a third element (altitude) is accepted when numeric and dropped, as slides are flat.
// Throws GeometryError on an unknown type, wrong nesting, a non-numeric or non-finite coordinate, a ring
// that is not closed or has fewer than 4 positions, a LineString of fewer than 2, or an empty geometry.
Geometry parse_geojson_geometry(const nlohmann::json& j);

// The GeoJSON geometry object; parse_geojson_geometry(to_geojson(g)) == g exactly.
nlohmann::json to_geojson(const Geometry& geometry);

// Checks the rules parse_geojson_geometry enforces on a geometry built in code (from XML, say): finite
// coordinates, closed rings of at least 4 positions, LineStrings of at least 2, nothing empty.
void validate(const Geometry& geometry);

// "Point", "MultiPoint", "LineString", "Polygon", "MultiPolygon".
std::string_view type_name(const Geometry& geometry);

// Every stored position, the closing position of each ring included.
std::size_t vertex_count(const Geometry& geometry);

struct Bounds {
  double min_x = 0, min_y = 0, max_x = 0, max_y = 0;
  friend bool operator==(const Bounds&, const Bounds&) = default;
};
Bounds bounds(const Geometry& geometry);

// Whether the bounding box meets [0, width] x [0, height] (touching an edge counts): false for a geometry
// entirely outside a slide of that size.
bool intersects_rect(const Geometry& geometry, double width, double height);

struct Measurement {
  std::optional<double> length_um;  // LineString: its length; Polygon, MultiPolygon: the outer perimeter(s)
  std::optional<double> area_mm2;   // Polygon, MultiPolygon: outer area minus holes
};

// Lengths and areas with x scaled by mpp_x and y by mpp_y (microns per pixel) before measuring, so that
// anisotropic pixels measure correctly. Points measure nothing. Without a usable calibration (an MPP that is
// not a positive finite number: many slides carry none) nothing is measured rather than a wrong number.
Measurement measure(const Geometry& geometry, double mpp_x, double mpp_y);

}  // namespace reread::annotation
