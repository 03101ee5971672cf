// GeoJSON geometry parsing and writing, validation, bounds and calibrated measurement.
#include "annotation_geometry.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace reread::annotation {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& message) { throw GeometryError(message); }

// JSON shape only: finiteness and ring rules are checked once, by validate(), for every source alike.
double parse_coordinate(const json& j, const std::string& where, const char* axis) {
  if (!j.is_number()) fail(where + ": " + axis + " is not a number");
  return j.get<double>();
}

Position parse_position(const json& j, const std::string& where) {
  if (!j.is_array()) fail(where + " must be an array [x, y]");
  if (j.size() != 2 && j.size() != 3) {
    fail(where + " must have 2 coordinates [x, y] (it has " + std::to_string(j.size()) + ")");
  }
  Position p{parse_coordinate(j[0], where, "x"), parse_coordinate(j[1], where, "y")};
  if (j.size() == 3) parse_coordinate(j[2], where, "z");
  return p;
}

std::vector<Position> parse_positions(const json& j, const std::string& where) {
  if (!j.is_array()) fail(where + " must be an array of positions");
  std::vector<Position> positions;
  positions.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    positions.push_back(parse_position(j[i], where + " position " + std::to_string(i)));
  }
  return positions;
}

Polygon parse_polygon(const json& j, const std::string& where) {
  if (!j.is_array()) fail(where + " must be an array of rings");
  Polygon polygon;
  polygon.rings.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    polygon.rings.push_back(parse_positions(j[i], where + " ring " + std::to_string(i)));
  }
  return polygon;
}

void check_position(const Position& p, const std::string& where) {
  if (!std::isfinite(p.x)) fail(where + ": x is not a finite number");
  if (!std::isfinite(p.y)) fail(where + ": y is not a finite number");
}

void check_positions(const std::vector<Position>& positions, const std::string& where) {
  for (std::size_t i = 0; i < positions.size(); ++i)
    check_position(positions[i], where + " position " + std::to_string(i));
}

void check_polygon(const Polygon& polygon, const std::string& where) {
  if (polygon.rings.empty()) fail(where + " has no rings");
  for (std::size_t i = 0; i < polygon.rings.size(); ++i) {
    const Ring& ring = polygon.rings[i];
    const std::string ring_where = where + " ring " + std::to_string(i);
    if (ring.size() < 4) {
      fail(ring_where + " has " + std::to_string(ring.size()) +
           " positions; a ring needs at least 4 (3 corners and the first repeated to close it)");
    }
    check_positions(ring, ring_where);
    if (ring.front() != ring.back()) fail(ring_where + " is not closed (first and last positions differ)");
  }
}

json position_json(const Position& p) { return json::array({p.x, p.y}); }

json positions_json(const std::vector<Position>& positions) {
  json out = json::array();
  for (const Position& p : positions) out.push_back(position_json(p));
  return out;
}

json polygon_json(const Polygon& polygon) {
  json out = json::array();
  for (const Ring& ring : polygon.rings) out.push_back(positions_json(ring));
  return out;
}

// Calls f on every stored position.
template <class F>
void for_each_position(const Geometry& geometry, F&& f) {
  const auto each = [&](const std::vector<Position>& positions) {
    for (const Position& p : positions) f(p);
  };
  std::visit(Overloaded{
                 [&](const Point& g) { f(g.position); },
                 [&](const MultiPoint& g) { each(g.positions); },
                 [&](const LineString& g) { each(g.positions); },
                 [&](const Polygon& g) {
                   for (const Ring& r : g.rings) each(r);
                 },
                 [&](const MultiPolygon& g) {
                   for (const Polygon& p : g.polygons) {
                     for (const Ring& r : p.rings) each(r);
                   }
                 },
             },
             geometry);
}

double path_length_um(const std::vector<Position>& positions, double mpp_x, double mpp_y) {
  double length = 0;
  for (std::size_t i = 1; i < positions.size(); ++i) {
    length += std::hypot((positions[i].x - positions[i - 1].x) * mpp_x, (positions[i].y - positions[i - 1].y) * mpp_y);
  }
  return length;
}

// Shoelace, in square pixels, orientation ignored (GeoJSON's winding rule is advisory and QuPath does not
// follow it).
double ring_area_px(const Ring& ring) {
  double twice = 0;
  for (std::size_t i = 1; i < ring.size(); ++i) {
    twice += ring[i - 1].x * ring[i].y - ring[i].x * ring[i - 1].y;
  }
  return std::abs(twice) / 2;
}

double outer_perimeter_um(const Polygon& polygon, double mpp_x, double mpp_y) {
  return polygon.rings.empty() ? 0 : path_length_um(polygon.rings.front(), mpp_x, mpp_y);
}

double polygon_area_px(const Polygon& polygon) {
  if (polygon.rings.empty()) return 0;  // invalid, but measure() must not read past the end
  double area = ring_area_px(polygon.rings.front());
  for (std::size_t i = 1; i < polygon.rings.size(); ++i) area -= ring_area_px(polygon.rings[i]);
  return area;
}

}  // namespace

Geometry parse_geojson_geometry(const json& j) {
  if (!j.is_object()) fail("geometry must be a JSON object");
  const auto type_it = j.find("type");
  if (type_it == j.end() || !type_it->is_string()) fail("geometry has no \"type\" string");
  const std::string type = type_it->get<std::string>();
  const bool known =
      type == "Point" || type == "MultiPoint" || type == "LineString" || type == "Polygon" || type == "MultiPolygon";
  if (!known) {
    fail("unsupported geometry type '" + type + "' (expected Point, MultiPoint, LineString, Polygon or MultiPolygon)");
  }
  const auto coordinates_it = j.find("coordinates");
  if (coordinates_it == j.end()) fail(type + " has no \"coordinates\"");
  const json& c = *coordinates_it;

  Geometry geometry;
  if (type == "Point") {
    geometry = Point{parse_position(c, "Point")};
  } else if (type == "MultiPoint") {
    geometry = MultiPoint{parse_positions(c, "MultiPoint")};
  } else if (type == "LineString") {
    geometry = LineString{parse_positions(c, "LineString")};
  } else if (type == "Polygon") {
    geometry = parse_polygon(c, "Polygon");
  } else {
    if (!c.is_array()) fail("MultiPolygon must be an array of polygons");
    MultiPolygon multi;
    multi.polygons.reserve(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) {
      multi.polygons.push_back(parse_polygon(c[i], "MultiPolygon polygon " + std::to_string(i)));
    }
    geometry = std::move(multi);
  }
  validate(geometry);
  return geometry;
}

void validate(const Geometry& geometry) {
  std::visit(Overloaded{
                 [](const Point& g) { check_position(g.position, "Point"); },
                 [](const MultiPoint& g) {
                   if (g.positions.empty()) fail("MultiPoint is empty");
                   check_positions(g.positions, "MultiPoint");
                 },
                 [](const LineString& g) {
                   if (g.positions.size() < 2) {
                     fail("LineString has " + std::to_string(g.positions.size()) + " position(s); it needs at least 2");
                   }
                   check_positions(g.positions, "LineString");
                 },
                 [](const Polygon& g) { check_polygon(g, "Polygon"); },
                 [](const MultiPolygon& g) {
                   if (g.polygons.empty()) fail("MultiPolygon is empty");
                   for (std::size_t i = 0; i < g.polygons.size(); ++i) {
                     check_polygon(g.polygons[i], "MultiPolygon polygon " + std::to_string(i));
                   }
                 },
             },
             geometry);
}

json to_geojson(const Geometry& geometry) {
  return std::visit(Overloaded{
                        [](const Point& g) {
                          return json{{"type", "Point"}, {"coordinates", position_json(g.position)}};
                        },
                        [](const MultiPoint& g) {
                          return json{{"type", "MultiPoint"}, {"coordinates", positions_json(g.positions)}};
                        },
                        [](const LineString& g) {
                          return json{{"type", "LineString"}, {"coordinates", positions_json(g.positions)}};
                        },
                        [](const Polygon& g) {
                          return json{{"type", "Polygon"}, {"coordinates", polygon_json(g)}};
                        },
                        [](const MultiPolygon& g) {
                          json polygons = json::array();
                          for (const Polygon& p : g.polygons) polygons.push_back(polygon_json(p));
                          return json{{"type", "MultiPolygon"}, {"coordinates", std::move(polygons)}};
                        },
                    },
                    geometry);
}

std::string_view type_name(const Geometry& geometry) {
  static constexpr std::string_view names[] = {"Point", "MultiPoint", "LineString", "Polygon", "MultiPolygon"};
  return names[geometry.index()];
}

std::size_t vertex_count(const Geometry& geometry) {
  std::size_t count = 0;
  for_each_position(geometry, [&](const Position&) { ++count; });
  return count;
}

Bounds bounds(const Geometry& geometry) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  Bounds b{inf, inf, -inf, -inf};
  for_each_position(geometry, [&](const Position& p) {
    b.min_x = std::min(b.min_x, p.x);
    b.min_y = std::min(b.min_y, p.y);
    b.max_x = std::max(b.max_x, p.x);
    b.max_y = std::max(b.max_y, p.y);
  });
  if (b.min_x > b.max_x) return {};  // no positions: only an invalid geometry gets here
  return b;
}

bool intersects_rect(const Geometry& geometry, double width, double height) {
  const Bounds b = bounds(geometry);
  return b.max_x >= 0 && b.max_y >= 0 && b.min_x <= width && b.min_y <= height;
}

Measurement measure(const Geometry& geometry, double mpp_x, double mpp_y) {
  const auto usable = [](double mpp) { return std::isfinite(mpp) && mpp > 0; };
  if (!usable(mpp_x) || !usable(mpp_y)) return {};
  constexpr double um2_per_mm2 = 1e6;
  const double um2_per_px2 = mpp_x * mpp_y;
  return std::visit(
      Overloaded{
          [](const Point&) { return Measurement{}; },
          [](const MultiPoint&) { return Measurement{}; },
          [&](const LineString& g) {
            return Measurement{path_length_um(g.positions, mpp_x, mpp_y), {}};
          },
          [&](const Polygon& g) {
            return Measurement{outer_perimeter_um(g, mpp_x, mpp_y), polygon_area_px(g) * um2_per_px2 / um2_per_mm2};
          },
          [&](const MultiPolygon& g) {
            double length = 0, area = 0;
            for (const Polygon& p : g.polygons) {
              length += outer_perimeter_um(p, mpp_x, mpp_y);
              area += polygon_area_px(p);
            }
            return Measurement{length, area * um2_per_px2 / um2_per_mm2};
          },
      },
      geometry);
}

}  // namespace reread::annotation
