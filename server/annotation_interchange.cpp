// Reading and writing QuPath GeoJSON, ASAP XML and Aperio ImageScope XML annotation files.
#include "annotation_interchange.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <numbers>
#include <pugixml.hpp>
#include <sstream>
#include <string>
#include <utility>

namespace reread::annotation {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& message) { throw InterchangeError(message); }

// ---- Shared by the three formats -------------------------------------------------------------------------

// Quoted for a message; a label can be a paragraph, the message should stay one line.
std::string in_quotes(std::string_view text) {
  constexpr std::size_t max_chars = 60;
  std::string out = "'";
  out += text.size() > max_chars ? std::string(text.substr(0, max_chars)) + "..." : std::string(text);
  out += "'";
  return out;
}

// "feature 3 (label 'x')", "annotation 2 (name 'x')": how a message names what it refuses.
std::string feature_name(std::string_view kind, std::size_t index, std::string_view what, std::string_view text) {
  std::string out = std::string(kind) + " " + std::to_string(index);
  if (!text.empty()) out += " (" + std::string(what) + " " + in_quotes(text) + ")";
  return out;
}

// Shortest text that reads back as the same double, so that export then import is exact.
std::string number_text(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// A finite decimal number, the whole attribute (around whitespace); nullopt otherwise.
std::optional<double> parse_number(std::string_view text) {
  text = trim(text);
  double value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc{} || result.ptr != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<long long> parse_integer(std::string_view text) {
  text = trim(text);
  long long value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc{} || result.ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

using Rgb = std::uint32_t;  // 0xRRGGBB

std::string hex_color(Rgb rgb) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "#";
  for (int shift = 20; shift >= 0; shift -= 4) out += digits[(rgb >> shift) & 0xF];
  return out;
}

std::optional<Rgb> parse_hex_color(std::string_view text) {
  if (text.size() != 7 || text[0] != '#') return std::nullopt;
  Rgb value = 0;
  const auto result = std::from_chars(text.data() + 1, text.data() + text.size(), value, 16);
  if (result.ec != std::errc{} || result.ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// "" or "#rrggbb" in lower case; what_and_where names the attribute for the message.
std::string normalized_color(std::string_view text, const std::string& what_and_where) {
  if (text.empty()) return {};
  const auto rgb = parse_hex_color(text);
  if (!rgb) fail(what_and_where + " " + in_quotes(text) + " is not a colour of the form #rrggbb");
  return hex_color(*rgb);
}

// The colour of an annotation being exported; an invalid one is the caller's bug, reported as such.
std::optional<Rgb> export_color(const InterchangeAnnotation& a, std::size_t index) {
  if (a.color.empty()) return std::nullopt;
  const auto rgb = parse_hex_color(a.color);
  if (!rgb) fail("annotation " + std::to_string(index) + ": colour " + in_quotes(a.color) + " is not #rrggbb");
  return rgb;
}

// Checks one imported geometry against the geometry rules, the slide and the file's vertex budget.
class Admission {
 public:
  explicit Admission(const ImportLimits& limits) : limits_(limits) {
    if (!(limits.slide_width > 0) || !(limits.slide_height > 0)) {
      fail("the slide size must be positive to import annotations onto it");
    }
  }

  void admit(const Geometry& geometry, const std::string& who) {
    try {
      validate(geometry);
    } catch (const GeometryError& e) {
      fail(who + ": " + e.what());
    }
    spend(vertex_count(geometry), who);
    if (!intersects_rect(geometry, limits_.slide_width, limits_.slide_height)) {
      const Bounds b = bounds(geometry);
      fail(who + ": the " + std::string(type_name(geometry)) + " lies entirely outside the " +
           number_text(limits_.slide_width) + " x " + number_text(limits_.slide_height) + " px slide (x " +
           number_text(b.min_x) + ".." + number_text(b.max_x) + ", y " + number_text(b.min_y) + ".." +
           number_text(b.max_y) + ")");
    }
  }

  // For vertices added to a geometry already admitted (ImageScope holes).
  void spend(std::size_t vertices, const std::string& who) {
    vertices_ += vertices;
    if (vertices_ > limits_.max_vertices) {
      fail(who + ": the file holds more than " + std::to_string(limits_.max_vertices) + " vertices, the import limit");
    }
  }

 private:
  const ImportLimits& limits_;
  std::size_t vertices_ = 0;
};

// Appends the first position when the ring is open: ASAP and ImageScope store rings without it.
Ring closed(std::vector<Position> positions) {
  if (!positions.empty() && positions.front() != positions.back()) positions.push_back(positions.front());
  return positions;
}

std::vector<Position> without_closing_position(const Ring& ring) {
  return ring.size() > 1 && ring.front() == ring.back() ? Ring(ring.begin(), ring.end() - 1) : ring;
}

// ---- QuPath GeoJSON --------------------------------------------------------------------------------------

std::optional<std::string> optional_string(const json& object, const char* key, const std::string& who) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) fail(who + ": properties." + key + " must be a string");
  return it->get<std::string>();
}

// QuPath writes [r, g, b]; older versions and scripts a packed ARGB int (negative when alpha is 255).
Rgb parse_qupath_color(const json& j, const std::string& who, const std::string& key) {
  if (j.is_number_integer()) return static_cast<Rgb>(j.get<std::int64_t>()) & 0xFFFFFFu;
  const auto component = [](const json& c) {
    return c.is_number_integer() && c.get<std::int64_t>() >= 0 && c.get<std::int64_t>() <= 255;
  };
  if (!j.is_array() || j.size() != 3 || !std::all_of(j.begin(), j.end(), component)) {
    fail(who + ": " + key + " must be [r, g, b] with components 0-255, or a packed RGB integer");
  }
  return static_cast<Rgb>((j[0].get<std::int64_t>() << 16) | (j[1].get<std::int64_t>() << 8) |
                          j[2].get<std::int64_t>());
}

InterchangeAnnotation import_qupath_feature(const json& feature, const std::string& who) {
  if (!feature.is_object()) fail(who + " is not a JSON object");
  const auto type = feature.find("type");
  if (type == feature.end() || *type != "Feature") fail(who + " is not a GeoJSON Feature (\"type\": \"Feature\")");

  InterchangeAnnotation a;
  json no_properties = json::object();
  const auto properties_it = feature.find("properties");
  const json& properties = properties_it == feature.end() || properties_it->is_null() ? no_properties : *properties_it;
  if (!properties.is_object()) fail(who + ": properties must be a JSON object");

  // QuPath 0.2 put the object type in "id"; later versions a UUID there and the type in objectType.
  std::string object_type = "annotation";
  if (auto t = optional_string(properties, "objectType", who)) {
    object_type = *t;
  } else if (auto legacy = optional_string(properties, "object_type", who)) {
    object_type = *legacy;
  } else if (const auto id = feature.find("id"); id != feature.end() && id->is_string()) {
    const std::string value = id->get<std::string>();
    if (value.starts_with("Path") || value == "TMACoreObject") object_type = value;
  }
  if (object_type != "annotation" && object_type != "PathAnnotationObject") {
    fail(who + ": objectType " + in_quotes(object_type) +
         " is not an annotation (export annotations only: detections and cells are analysis results)");
  }

  a.label = optional_string(properties, "name", who).value_or("");
  a.comment = optional_string(properties, "comment", who).value_or("");
  if (a.comment.empty()) a.comment = optional_string(properties, "description", who).value_or("");

  std::optional<Rgb> color;
  if (const auto c = properties.find("color"); c != properties.end() && !c->is_null()) {
    color = parse_qupath_color(*c, who, "properties.color");
  }
  if (const auto cls = properties.find("classification"); cls != properties.end() && !cls->is_null()) {
    if (!cls->is_object()) fail(who + ": properties.classification must be a JSON object");
    if (const auto name = cls->find("name"); name != cls->end() && !name->is_null()) {
      if (!name->is_string()) fail(who + ": classification name must be a string");
      a.class_name = name->get<std::string>();
    } else if (const auto names = cls->find("names"); names != cls->end() && names->is_array()) {
      // A derived class ("Tumor: Positive") as QuPath 0.5 writes it.
      for (const json& part : *names) {
        if (!part.is_string()) fail(who + ": classification names must be strings");
        a.class_name += (a.class_name.empty() ? "" : ": ") + part.get<std::string>();
      }
    }
    if (!color) {
      if (const auto c = cls->find("color"); c != cls->end() && !c->is_null()) {
        color = parse_qupath_color(*c, who, "classification color");
      } else if (const auto packed = cls->find("colorRGB"); packed != cls->end() && !packed->is_null()) {
        color = parse_qupath_color(*packed, who, "classification colorRGB");
      }
    }
  }
  if (color) a.color = hex_color(*color);

  const auto geometry = feature.find("geometry");
  if (geometry == feature.end() || geometry->is_null()) fail(who + " has no geometry");
  try {
    a.geometry = parse_geojson_geometry(*geometry);
  } catch (const GeometryError& e) {
    fail(who + ": " + e.what());
  }
  return a;
}

std::vector<InterchangeAnnotation> import_qupath(std::string_view text, Admission& admission) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {
    fail("malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const json::exception& e) {  // out_of_range: a number such as 1e400 that overflows a double
    fail(std::string("malformed JSON: ") + e.what());
  }

  const json* features = &document;
  json single = json::array();
  if (document.is_object()) {
    const auto type = document.find("type");
    if (type != document.end() && *type == "FeatureCollection") {
      const auto it = document.find("features");
      if (it == document.end() || !it->is_array()) fail("the FeatureCollection has no \"features\" array");
      features = &*it;
    } else if (type != document.end() && *type == "Feature") {
      single.push_back(std::move(document));
      features = &single;
    } else {
      fail("not QuPath GeoJSON: expected a FeatureCollection, an array of Features or a Feature");
    }
  } else if (!document.is_array()) {
    fail("not QuPath GeoJSON: expected a FeatureCollection, an array of Features or a Feature");
  }

  std::vector<InterchangeAnnotation> out;
  out.reserve(features->size());
  for (std::size_t i = 0; i < features->size(); ++i) {
    const json& feature = (*features)[i];
    std::string label;
    if (feature.is_object()) {
      const auto p = feature.find("properties");
      if (p != feature.end() && p->is_object()) {
        const auto n = p->find("name");
        if (n != p->end() && n->is_string()) label = n->get<std::string>();
      }
    }
    const std::string who = feature_name("feature", i, "label", label);
    out.push_back(import_qupath_feature(feature, who));
    admission.admit(out.back().geometry, who);
  }
  return out;
}

json qupath_color(Rgb rgb) { return json::array({(rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF}); }

std::string export_qupath(const std::vector<InterchangeAnnotation>& annotations) {
  json features = json::array();
  for (std::size_t i = 0; i < annotations.size(); ++i) {
    const InterchangeAnnotation& a = annotations[i];
    const auto color = export_color(a, i);
    json properties = {{"objectType", "annotation"}};
    if (!a.label.empty()) properties["name"] = a.label;
    if (!a.class_name.empty()) {
      json classification = {{"name", a.class_name}};
      if (color) classification["color"] = qupath_color(*color);
      properties["classification"] = std::move(classification);
    } else if (color) {
      properties["color"] = qupath_color(*color);
    }
    // QuPath's free text on an annotation is its description.
    if (!a.comment.empty()) properties["description"] = a.comment;
    features.push_back({{"type", "Feature"}, {"geometry", to_geojson(a.geometry)}, {"properties", properties}});
  }
  const json collection = {{"type", "FeatureCollection"}, {"features", std::move(features)}};
  return collection.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- XML, shared by ASAP and ImageScope ------------------------------------------------------------------

pugi::xml_document parse_xml(std::string_view text) {
  pugi::xml_document document;
  const pugi::xml_parse_result result = document.load_buffer(text.data(), text.size());
  if (!result) {
    fail("malformed XML at byte " + std::to_string(result.offset) + ": " + result.description());
  }
  return document;
}

double xml_number(const pugi::xml_node& node, const char* attribute, const std::string& where) {
  const pugi::xml_attribute a = node.attribute(attribute);
  if (!a) fail(where + " has no " + attribute);
  const auto value = parse_number(a.value());
  if (!value) fail(where + ": " + attribute + " " + in_quotes(a.value()) + " is not a finite number");
  return *value;
}

std::string to_xml(const pugi::xml_document& document) {
  std::ostringstream out;
  document.save(out, "\t", pugi::format_default, pugi::encoding_utf8);
  return out.str();
}

void set_number(pugi::xml_node node, const char* attribute, double value) {
  node.append_attribute(attribute).set_value(number_text(value).c_str());
}

// ---- ASAP ------------------------------------------------------------------------------------------------

std::vector<InterchangeAnnotation> import_asap(std::string_view text, Admission& admission) {
  const pugi::xml_document document = parse_xml(text);
  const pugi::xml_node root = document.document_element();
  if (std::string_view(root.name()) != "ASAP_Annotations") {
    fail("not an ASAP annotation file: the root element is <" + std::string(root.name()) +
         ">, expected <ASAP_Annotations>");
  }

  std::vector<std::pair<std::string, std::string>> group_colors;  // name, colour: a handful per file
  std::size_t group_index = 0;
  for (const pugi::xml_node group : root.child("AnnotationGroups").children("Group")) {
    const std::string name = group.attribute("Name").value();
    group_colors.emplace_back(name, normalized_color(group.attribute("Color").value(),
                                                     feature_name("group", group_index++, "name", name) + ": Color"));
  }

  std::vector<InterchangeAnnotation> out;
  std::size_t index = 0;
  for (const pugi::xml_node annotation : root.child("Annotations").children("Annotation")) {
    InterchangeAnnotation a;
    a.label = annotation.attribute("Name").value();
    const std::string who = feature_name("annotation", index++, "name", a.label);
    const std::string group = annotation.attribute("PartOfGroup").value();
    if (group != "None") a.class_name = group;
    a.color = normalized_color(annotation.attribute("Color").value(), who + ": Color");
    if (a.color.empty()) {
      const auto it = std::find_if(group_colors.begin(), group_colors.end(),
                                   [&](const auto& g) { return g.first == a.class_name; });
      if (it != group_colors.end()) a.color = it->second;
    }

    // ASAP orders coordinates by their Order attribute, not by their place in the file.
    struct Ordered {
      long long order;
      Position position;
    };
    std::vector<Ordered> coordinates;
    std::size_t c = 0;
    for (const pugi::xml_node coordinate : annotation.child("Coordinates").children("Coordinate")) {
      const std::string where = who + " coordinate " + std::to_string(c++);
      const auto order = parse_integer(coordinate.attribute("Order").value());
      if (!order) fail(where + ": Order " + in_quotes(coordinate.attribute("Order").value()) + " is not an integer");
      coordinates.push_back({*order, {xml_number(coordinate, "X", where), xml_number(coordinate, "Y", where)}});
    }
    std::stable_sort(coordinates.begin(), coordinates.end(),
                     [](const Ordered& l, const Ordered& r) { return l.order < r.order; });
    std::vector<Position> positions;
    positions.reserve(coordinates.size() + 1);
    for (std::size_t i = 0; i < coordinates.size(); ++i) {
      if (i > 0 && coordinates[i].order == coordinates[i - 1].order) {
        fail(who + ": coordinate Order " + std::to_string(coordinates[i].order) + " appears twice");
      }
      positions.push_back(coordinates[i].position);
    }

    const std::string type = annotation.attribute("Type").value();
    if (type == "Dot") {
      if (positions.size() != 1) {
        fail(who + ": a Dot has one coordinate, this one has " + std::to_string(positions.size()));
      }
      a.geometry = Point{positions.front()};
    } else if (type == "PointSet") {
      a.geometry = MultiPoint{std::move(positions)};
    } else if (type == "Measurement" || type == "Polyline") {
      a.geometry = LineString{std::move(positions)};
    } else if (type == "Polygon" || type == "Rectangle" || type == "Spline") {
      if (positions.size() < 3) {
        fail(who + ": a " + type + " needs at least 3 coordinates, this one has " + std::to_string(positions.size()));
      }
      a.geometry = Polygon{{closed(std::move(positions))}};
    } else {
      fail(who + ": unknown annotation Type " + in_quotes(type) +
           " (expected Dot, PointSet, Polygon, Rectangle, Spline, Measurement or Polyline)");
    }
    admission.admit(a.geometry, who);
    out.push_back(std::move(a));
  }
  return out;
}

// One <Annotation>; the ASAP attributes in the order ASAP writes them.
void append_asap_annotation(pugi::xml_node parent, const InterchangeAnnotation& a, const std::string& color,
                            const char* type, const std::vector<Position>& positions) {
  pugi::xml_node node = parent.append_child("Annotation");
  node.append_attribute("Name").set_value(a.label.c_str());
  node.append_attribute("Type").set_value(type);
  node.append_attribute("PartOfGroup").set_value(a.class_name.empty() ? "None" : a.class_name.c_str());
  if (!color.empty()) node.append_attribute("Color").set_value(color.c_str());
  pugi::xml_node coordinates = node.append_child("Coordinates");
  for (std::size_t i = 0; i < positions.size(); ++i) {
    pugi::xml_node coordinate = coordinates.append_child("Coordinate");
    coordinate.append_attribute("Order").set_value(static_cast<unsigned long long>(i));
    set_number(coordinate, "X", positions[i].x);
    set_number(coordinate, "Y", positions[i].y);
  }
}

std::string export_asap(const std::vector<InterchangeAnnotation>& annotations) {
  pugi::xml_document document;
  pugi::xml_node root = document.append_child("ASAP_Annotations");
  pugi::xml_node list = root.append_child("Annotations");
  std::vector<std::pair<std::string, std::string>> groups;  // class, its first colour; in order of appearance
  for (std::size_t i = 0; i < annotations.size(); ++i) {
    const InterchangeAnnotation& a = annotations[i];
    const auto rgb = export_color(a, i);
    const std::string color = rgb ? hex_color(*rgb) : "";  // one spelling: lower case
    if (!a.class_name.empty()) {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == a.class_name; });
      if (it == groups.end()) {
        groups.emplace_back(a.class_name, color);
      } else if (it->second.empty()) {
        it->second = color;
      }
    }
    const auto append = [&](const char* type, const std::vector<Position>& positions) {
      append_asap_annotation(list, a, color, type, positions);
    };
    std::visit(
        Overloaded{
            [&](const Point& g) { append("Dot", {g.position}); },
            [&](const MultiPoint& g) { append("PointSet", g.positions); },
            // ASAP's only open shape is its two-point ruler.
            [&](const LineString& g) { append(g.positions.size() == 2 ? "Measurement" : "Polyline", g.positions); },
            [&](const Polygon& g) { append("Polygon", without_closing_position(g.rings.front())); },
            [&](const MultiPolygon& g) {
              for (const Polygon& p : g.polygons) append("Polygon", without_closing_position(p.rings.front()));
            },
        },
        a.geometry);
  }
  pugi::xml_node group_list = root.append_child("AnnotationGroups");
  for (const auto& [name, color] : groups) {
    pugi::xml_node group = group_list.append_child("Group");
    group.append_attribute("Name").set_value(name.c_str());
    group.append_attribute("PartOfGroup").set_value("None");
    if (!color.empty()) group.append_attribute("Color").set_value(color.c_str());
    group.append_child("Attributes");
  }
  return to_xml(document);
}

// ---- Aperio ImageScope -----------------------------------------------------------------------------------

enum RegionType : long long { free_polygon = 0, rectangle = 1, ellipse = 2, ruler = 3, arrow = 4 };
constexpr int ellipse_vertices = 64;

// ImageScope's LineColor is a Windows COLORREF: red in the low byte.
Rgb rgb_from_colorref(long long bgr) {
  const auto v = static_cast<Rgb>(bgr);
  return ((v & 0xFF) << 16) | (v & 0xFF00) | ((v >> 16) & 0xFF);
}
long long colorref_from_rgb(Rgb rgb) { return static_cast<long long>(rgb_from_colorref(rgb)); }

// Of a non-empty list of positions.
Bounds positions_bounds(const std::vector<Position>& positions) {
  Bounds b{positions.front().x, positions.front().y, positions.front().x, positions.front().y};
  for (const Position& p : positions) {
    b.min_x = std::min(b.min_x, p.x);
    b.min_y = std::min(b.min_y, p.y);
    b.max_x = std::max(b.max_x, p.x);
    b.max_y = std::max(b.max_y, p.y);
  }
  return b;
}

Ring ellipse_ring(const std::vector<Position>& box, const std::string& who) {
  const Bounds b = positions_bounds(box);
  if (!(b.max_x > b.min_x) || !(b.max_y > b.min_y)) fail(who + ": the ellipse has no width or no height");
  const double cx = (b.min_x + b.max_x) / 2, cy = (b.min_y + b.max_y) / 2;
  const double rx = (b.max_x - b.min_x) / 2, ry = (b.max_y - b.min_y) / 2;
  Ring ring;
  ring.reserve(ellipse_vertices + 1);
  for (int i = 0; i < ellipse_vertices; ++i) {
    const double angle = 2 * std::numbers::pi * i / ellipse_vertices;
    ring.push_back({cx + rx * std::cos(angle), cy + ry * std::sin(angle)});
  }
  ring.push_back(ring.front());
  return ring;
}

// Even-odd ray casting.
bool inside_ring(const Position& p, const Ring& ring) {
  bool inside = false;
  for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    const Position& a = ring[i];
    const Position& b = ring[j];
    if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

bool contains(const Ring& outer, const Ring& hole) {
  const Bounds o = positions_bounds(outer);
  const Bounds h = positions_bounds(hole);
  return h.min_x >= o.min_x && h.max_x <= o.max_x && h.min_y >= o.min_y && h.max_y <= o.max_y &&
         inside_ring(hole.front(), outer);
}

std::vector<InterchangeAnnotation> import_imagescope(std::string_view text, Admission& admission) {
  const pugi::xml_document document = parse_xml(text);
  const pugi::xml_node root = document.document_element();
  if (std::string_view(root.name()) != "Annotations") {
    fail("not an ImageScope annotation file: the root element is <" + std::string(root.name()) +
         ">, expected <Annotations>");
  }

  std::vector<InterchangeAnnotation> out;
  std::size_t layer_index = 0;
  for (const pugi::xml_node layer : root.children("Annotation")) {
    const std::string class_name = layer.attribute("Name").value();
    const std::string layer_who = feature_name("annotation", layer_index++, "name", class_name);
    std::string color;
    if (const pugi::xml_attribute line_color = layer.attribute("LineColor"); line_color) {
      const auto value = parse_integer(line_color.value());
      if (!value || *value < 0 || *value > 0xFFFFFF) {
        fail(layer_who + ": LineColor " + in_quotes(line_color.value()) + " is not a colour (0-16777215)");
      }
      color = hex_color(rgb_from_colorref(*value));
    }

    std::vector<std::size_t> areas;  // indices into out of this layer's positive area regions, in order
    std::size_t region_index = 0;
    for (const pugi::xml_node region : layer.child("Regions").children("Region")) {
      const std::string label = region.attribute("Text").value();
      const std::string who = layer_who + " " + feature_name("region", region_index++, "text", label);
      const auto type = parse_integer(region.attribute("Type").value());
      if (!type) fail(who + ": Type " + in_quotes(region.attribute("Type").value()) + " is not an integer");
      const std::string negative_text = region.attribute("NegativeROA").value();
      if (negative_text != "" && negative_text != "0" && negative_text != "1") {
        fail(who + ": NegativeROA " + in_quotes(negative_text) + " is neither 0 nor 1");
      }
      const bool negative = negative_text == "1";

      std::vector<Position> vertices;
      std::size_t v = 0;
      for (const pugi::xml_node vertex : region.child("Vertices").children("Vertex")) {
        const std::string where = who + " vertex " + std::to_string(v++);
        vertices.push_back({xml_number(vertex, "X", where), xml_number(vertex, "Y", where)});
      }

      Geometry geometry;
      switch (*type) {
        case free_polygon:
        case rectangle:
          if (vertices.size() < 3) {
            fail(who + ": a region of Type " + std::to_string(*type) + " needs at least 3 vertices, this one has " +
                 std::to_string(vertices.size()));
          }
          geometry = Polygon{{closed(std::move(vertices))}};
          break;
        case ellipse:
          if (vertices.size() < 2) fail(who + ": an ellipse needs the 2 corners of its bounding box");
          geometry = Polygon{{ellipse_ring(vertices, who)}};
          break;
        case ruler:
        case arrow:
          geometry = LineString{std::move(vertices)};
          break;
        default:
          fail(who + ": unknown region Type " + std::to_string(*type) +
               " (expected 0 polygon, 1 rectangle, 2 ellipse, 3 ruler or 4 arrow)");
      }

      if (!negative) {
        InterchangeAnnotation a{std::move(geometry), class_name, color, label, {}};
        admission.admit(a.geometry, who);
        if (std::holds_alternative<Polygon>(a.geometry)) areas.push_back(out.size());
        out.push_back(std::move(a));
        continue;
      }
      auto* hole_polygon = std::get_if<Polygon>(&geometry);
      if (!hole_polygon) fail(who + ": a negative region (NegativeROA=1) must be a polygon, rectangle or ellipse");
      try {
        validate(geometry);
      } catch (const GeometryError& e) {
        fail(who + ": " + e.what());
      }
      Ring& hole = hole_polygon->rings.front();
      const auto holder = std::find_if(areas.rbegin(), areas.rend(), [&](std::size_t i) {
        return contains(std::get<Polygon>(out[i].geometry).rings.front(), hole);
      });
      if (holder == areas.rend()) {
        fail(who + ": the negative region (NegativeROA=1) lies inside no preceding positive region of its annotation");
      }
      admission.spend(hole.size(), who);
      std::get<Polygon>(out[*holder].geometry).rings.push_back(std::move(hole));
    }
  }
  return out;
}

void append_imagescope_region(pugi::xml_node regions, int& id, long long type, bool negative, const std::string& text,
                              const std::vector<Position>& vertices) {
  ++id;
  pugi::xml_node region = regions.append_child("Region");
  region.append_attribute("Id").set_value(id);
  region.append_attribute("Type").set_value(type);
  region.append_attribute("Zoom").set_value("1");
  region.append_attribute("Selected").set_value("0");
  region.append_attribute("ImageLocation").set_value("");
  region.append_attribute("ImageFocus").set_value("-1");
  region.append_attribute("Text").set_value(text.c_str());
  region.append_attribute("NegativeROA").set_value(negative ? "1" : "0");
  region.append_attribute("InputRegionId").set_value("0");
  region.append_attribute("Analyze").set_value("1");
  region.append_attribute("DisplayId").set_value(id);
  region.append_child("Attributes");
  pugi::xml_node list = region.append_child("Vertices");
  for (const Position& p : vertices) {
    pugi::xml_node vertex = list.append_child("Vertex");
    set_number(vertex, "X", p.x);
    set_number(vertex, "Y", p.y);
    vertex.append_attribute("Z").set_value("0");
  }
}

// Outer ring, then its holes as negative regions right after it, where import looks for them.
void append_imagescope_polygon(pugi::xml_node regions, int& id, const Polygon& polygon, const std::string& text) {
  for (std::size_t r = 0; r < polygon.rings.size(); ++r) {
    append_imagescope_region(regions, id, free_polygon, r > 0, r == 0 ? text : std::string(),
                             without_closing_position(polygon.rings[r]));
  }
}

std::string export_imagescope(const std::vector<InterchangeAnnotation>& annotations) {
  // One layer per class, in order of first appearance, holding its annotations in their order.
  std::vector<std::string> classes;
  std::vector<std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < annotations.size(); ++i) {
    const auto it = std::find(classes.begin(), classes.end(), annotations[i].class_name);
    if (it == classes.end()) {
      classes.push_back(annotations[i].class_name);
      members.push_back({i});
    } else {
      members[static_cast<std::size_t>(it - classes.begin())].push_back(i);
    }
  }

  pugi::xml_document document;
  pugi::xml_node root = document.append_child("Annotations");
  for (std::size_t c = 0; c < classes.size(); ++c) {
    std::optional<Rgb> color;
    for (std::size_t i : members[c]) {
      if (const auto rgb = export_color(annotations[i], i); rgb && !color) color = rgb;
    }
    pugi::xml_node layer = root.append_child("Annotation");
    layer.append_attribute("Id").set_value(static_cast<unsigned long long>(c + 1));
    layer.append_attribute("Name").set_value(classes[c].c_str());
    layer.append_attribute("ReadOnly").set_value("0");
    layer.append_attribute("NameReadOnly").set_value("0");
    layer.append_attribute("LineColorReadOnly").set_value("0");
    layer.append_attribute("Incremental").set_value("0");
    layer.append_attribute("Type").set_value("4");
    if (color) layer.append_attribute("LineColor").set_value(colorref_from_rgb(*color));
    layer.append_attribute("Visible").set_value("1");
    layer.append_attribute("Selected").set_value("0");
    layer.append_attribute("MarkupImagePath").set_value("");
    layer.append_attribute("MacroName").set_value("");
    layer.append_child("Attributes");
    pugi::xml_node regions = layer.append_child("Regions");
    pugi::xml_node headers = regions.append_child("RegionAttributeHeaders");
    for (const auto& [id, name] :
         {std::pair{"9999", "Region"}, {"9997", "Length"}, {"9996", "Area"}, {"9998", "Text"}}) {
      pugi::xml_node header = headers.append_child("AttributeHeader");
      header.append_attribute("Id").set_value(id);
      header.append_attribute("Name").set_value(name);
      header.append_attribute("ColumnWidth").set_value("-1");
    }
    int id = 0;
    for (std::size_t i : members[c]) {
      const InterchangeAnnotation& a = annotations[i];
      const auto no_points = [&](std::string_view type) {
        fail("annotation " + std::to_string(i) + " is a " + std::string(type) +
             ": ImageScope XML has no point regions");
      };
      std::visit(
          Overloaded{
              [&](const Point&) { no_points("Point"); },
              [&](const MultiPoint&) { no_points("MultiPoint"); },
              [&](const LineString& g) { append_imagescope_region(regions, id, ruler, false, a.label, g.positions); },
              [&](const Polygon& g) { append_imagescope_polygon(regions, id, g, a.label); },
              [&](const MultiPolygon& g) {
                for (const Polygon& p : g.polygons) append_imagescope_polygon(regions, id, p, a.label);
              },
          },
          a.geometry);
    }
    layer.append_child("Plots");
  }
  return to_xml(document);
}

}  // namespace

std::optional<InterchangeFormat> parse_interchange_format(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (lower == "geojson" || lower == "qupath") return InterchangeFormat::qupath_geojson;
  if (lower == "asap") return InterchangeFormat::asap_xml;
  if (lower == "imagescope") return InterchangeFormat::imagescope_xml;
  return std::nullopt;
}

std::string_view interchange_format_name(InterchangeFormat format) {
  switch (format) {
    case InterchangeFormat::qupath_geojson:
      return "geojson";
    case InterchangeFormat::asap_xml:
      return "asap";
    case InterchangeFormat::imagescope_xml:
      return "imagescope";
  }
  return "unknown";
}

std::vector<InterchangeAnnotation> import_annotations(std::string_view text, InterchangeFormat format,
                                                      const ImportLimits& limits) {
  Admission admission(limits);
  switch (format) {
    case InterchangeFormat::qupath_geojson:
      return import_qupath(text, admission);
    case InterchangeFormat::asap_xml:
      return import_asap(text, admission);
    case InterchangeFormat::imagescope_xml:
      return import_imagescope(text, admission);
  }
  fail("unknown interchange format");
}

std::string export_annotations(const std::vector<InterchangeAnnotation>& annotations, InterchangeFormat format) {
  switch (format) {
    case InterchangeFormat::qupath_geojson:
      return export_qupath(annotations);
    case InterchangeFormat::asap_xml:
      return export_asap(annotations);
    case InterchangeFormat::imagescope_xml:
      return export_imagescope(annotations);
  }
  fail("unknown interchange format");
}

}  // namespace reread::annotation
