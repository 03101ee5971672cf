// The consult report drawn on A4 pages with Cairo's PDF surface and its toy text API (DejaVu Sans;
// no Pango here, so words are wrapped by measuring them). The layout runs twice: once to count pages,
// once to draw them numbered "Page i of n".
#include "report_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numbers>
#include <stdexcept>

#include "image_codec.h"
#include "scaled_region.h"
#include "slide_error.h"
#include "slide_source.h"

namespace reread {

using nlohmann::json;
namespace ann = annotation;

// ---- The snapshot region and reading it from the slide ------------------------------------------------

SnapshotRegion snapshot_region(const ann::Bounds& b, double slide_width, double slide_height,
                               std::optional<double> um_per_px, int max_side) {
  const bool calibrated = um_per_px && std::isfinite(*um_per_px) && *um_per_px > 0;
  const double point_field = calibrated ? 250.0 / *um_per_px : 512.0;
  double w = b.max_x - b.min_x, h = b.max_y - b.min_y;
  const bool point = w <= 0 && h <= 0;
  // The outline with some tissue around it; a small mark gets at least half the field of a point.
  const double margin = std::max(0.15 * std::max(w, h), 16.0);
  w += 2 * margin;
  h += 2 * margin;
  const double min_side = point ? point_field : point_field / 2;
  w = std::max(w, min_side);
  h = std::max(h, min_side);
  // A long thin mark is shown with enough of its surroundings to read on a page.
  w = std::max(w, h / 2.5);
  h = std::max(h, w / 2.5);
  w = std::min(w, slide_width);
  h = std::min(h, slide_height);
  const double cx = (b.min_x + b.max_x) / 2, cy = (b.min_y + b.max_y) / 2;
  // Centred on the mark, shifted back inside the slide where it overhangs an edge.
  const double x0 = std::clamp(cx - w / 2, 0.0, std::max(0.0, slide_width - w));
  const double y0 = std::clamp(cy - h / 2, 0.0, std::max(0.0, slide_height - h));
  SnapshotRegion out;
  out.region = {std::floor(x0), std::floor(y0), std::min(slide_width, std::ceil(x0 + w)),
                std::min(slide_height, std::ceil(y0 + h))};
  const double rw = out.region.max_x - out.region.min_x, rh = out.region.max_y - out.region.min_y;
  const double scale = std::max(1.0, std::max(rw, rh) / static_cast<double>(max_side));
  out.out_width = std::max(1, static_cast<int>(std::lround(rw / scale)));
  out.out_height = std::max(1, static_cast<int>(std::lround(rh / scale)));
  return out;
}

namespace {

std::array<std::uint8_t, 3> parse_color(const std::string& hex) {
  if (hex.size() != 7 || hex[0] != '#') return {0xf0, 0xc0, 0x00};  // unclassified: a yellow that shows on H&E
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)); };
  return {byte(1), byte(3), byte(5)};
}

}  // namespace

ReportSnapshot snapshot_of(const Annotation& a, const SlideSource* slide, const std::string& slide_label) {
  ReportSnapshot s;
  s.annotation_id = a.id;
  s.label = a.label;
  s.class_name = a.class_name;
  s.comment = a.comment;
  s.author = a.author;
  s.slide_label = slide_label.empty() ? a.slide_id : slide_label;
  try {
    s.color = parse_color(a.class_color);
  } catch (const std::exception&) {  // the record checks #rrggbb; anything else is drawn unclassified
    s.color = parse_color("");
  }
  try {
    s.outline = ann::parse_geojson_geometry(a.geometry);
  } catch (const ann::GeometryError& e) {
    s.unavailable = std::string("the annotation's geometry cannot be read: ") + e.what();
    return s;
  }
  if (slide == nullptr) {
    s.unavailable = "the slide cannot be read on this server";
    return s;
  }
  const SlideInfo& info = slide->info();
  if (info.mpp_x && info.mpp_y) {
    s.measurement = ann::measure(*s.outline, *info.mpp_x, *info.mpp_y);
    if (std::isfinite(*info.mpp_x) && *info.mpp_x > 0) s.um_per_px = *info.mpp_x;
  }
  const Size l0 = info.level_dimensions.front();
  const SnapshotRegion r = snapshot_region(ann::bounds(*s.outline), static_cast<double>(l0.width),
                                           static_cast<double>(l0.height), s.um_per_px);
  s.region = r.region;
  if (r.region.max_x - r.region.min_x < 1 || r.region.max_y - r.region.min_y < 1) {
    s.unavailable = "the annotation lies outside the slide";
    return s;
  }
  try {
    s.image =
        read_scaled_region(*slide, static_cast<std::int64_t>(r.region.min_x), static_cast<std::int64_t>(r.region.min_y),
                           static_cast<std::int64_t>(r.region.max_x - r.region.min_x),
                           static_cast<std::int64_t>(r.region.max_y - r.region.min_y), r.out_width, r.out_height);
  } catch (const SlideError& e) {  // its message names the file, which a report must not
    s.unavailable = e.operation() + ": " + e.cause();
  } catch (const std::exception& e) {
    s.unavailable = e.what();
  }
  return s;
}

// ---- Drawing --------------------------------------------------------------------------------------------

namespace {

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;

// A4 in points, and the text block on it.
constexpr double kPageW = 595.276, kPageH = 841.890;
constexpr double kLeft = 54, kRight = kPageW - 54, kTop = 56, kBottom = kPageH - 62;
constexpr double kWidth = kRight - kLeft;
constexpr double kPi = std::numbers::pi;

struct Rgb {
  double r, g, b;
};
constexpr Rgb kInk{0.10, 0.11, 0.13};
constexpr Rgb kMuted{0.38, 0.40, 0.44};
constexpr Rgb kRule{0.78, 0.80, 0.83};
constexpr Rgb kNavy{0.11, 0.23, 0.38};
constexpr Rgb kHeaderFill{0.92, 0.94, 0.96};
constexpr Rgb kChangedFill{0.99, 0.92, 0.90};
constexpr Rgb kRevisedRed{0.68, 0.14, 0.12};
constexpr Rgb kConfirmedGreen{0.12, 0.45, 0.24};
constexpr Rgb kWhite{1, 1, 1};

enum class Font { body, body_bold, body_italic, small, small_bold, small_italic, heading, title, big };

struct FontSpec {
  double size;
  cairo_font_weight_t weight;
  cairo_font_slant_t slant;
};
FontSpec spec(Font f) {
  switch (f) {
    case Font::body:
      return {9.5, CAIRO_FONT_WEIGHT_NORMAL, CAIRO_FONT_SLANT_NORMAL};
    case Font::body_bold:
      return {9.5, CAIRO_FONT_WEIGHT_BOLD, CAIRO_FONT_SLANT_NORMAL};
    case Font::body_italic:
      return {9.5, CAIRO_FONT_WEIGHT_NORMAL, CAIRO_FONT_SLANT_OBLIQUE};
    case Font::small:
      return {7.8, CAIRO_FONT_WEIGHT_NORMAL, CAIRO_FONT_SLANT_NORMAL};
    case Font::small_bold:
      return {7.8, CAIRO_FONT_WEIGHT_BOLD, CAIRO_FONT_SLANT_NORMAL};
    case Font::small_italic:
      return {7.8, CAIRO_FONT_WEIGHT_NORMAL, CAIRO_FONT_SLANT_OBLIQUE};
    case Font::heading:
      return {11.5, CAIRO_FONT_WEIGHT_BOLD, CAIRO_FONT_SLANT_NORMAL};
    case Font::title:
      return {17, CAIRO_FONT_WEIGHT_BOLD, CAIRO_FONT_SLANT_NORMAL};
    case Font::big:
      return {14, CAIRO_FONT_WEIGHT_BOLD, CAIRO_FONT_SLANT_NORMAL};
  }
  return {9.5, CAIRO_FONT_WEIGHT_NORMAL, CAIRO_FONT_SLANT_NORMAL};
}
double line_height(Font f) { return spec(f).size * 1.38; }

// Valid UTF-8 without control characters (Cairo refuses invalid UTF-8 and draws controls as boxes).
std::string clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (!ok) {
      out += '?';
      ++i;
      continue;
    }
    if (n == 1 && c < 0x20) {
      if (c == '\n')
        out += '\n';
      else if (c == '\t')
        out += "    ";
      // other controls (\r among them) are dropped
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

// "2024-05-02T10:11:12.123Z" as "2024-05-02 10:11 UTC"; a plain date as it is.
std::string when(const std::string& iso) {
  if (iso.size() >= 16 && iso[10] == 'T') return iso.substr(0, 10) + " " + iso.substr(11, 5) + " UTC";
  return iso;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string length_text(double um) {
  if (um < 1000) return fixed(um, 1) + " µm";
  return fixed(um, 0) + " µm (" + fixed(um / 1000, 2) + " mm)";
}
std::string area_text(double mm2) { return fixed(mm2, mm2 < 0.01 ? 5 : mm2 < 1 ? 4 : 3) + " mm²"; }

const char* field_title(const std::string& name) {
  if (name == "diagnosis") return "Diagnosis";
  if (name == "histologic_type") return "Histologic type";
  if (name == "grade") return "Histologic grade";
  if (name == "stage") return "Stage (pTNM)";
  if (name == "margins") return "Margins";
  if (name == "lymph_nodes") return "Lymph nodes";
  if (name == "biomarkers") return "Biomarkers";
  if (name == "comment") return "Comment";
  return "Field";
}

// A report field's value as text: biomarkers one per line, nothing as empty.
std::string value_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& b : v) {
      if (!out.empty()) out += '\n';
      if (b.is_object()) {
        out += b.value("name", std::string()) + ": " + b.value("result", std::string());
      } else {
        out += b.is_string() ? b.get<std::string>() : b.dump();
      }
    }
    return out;
  }
  if (v.is_null()) return {};
  return v.dump();
}

struct DiscrepancyStyle {
  const char* headline;
  const char* meaning;
  Rgb fill, bar;
};
DiscrepancyStyle discrepancy_style(const std::string& d) {
  if (d == "major") {
    return {"Major discrepancy",
            "A change in diagnosis with potential for a significant change in treatment or prognosis.",
            {0.99, 0.91, 0.90},
            kRevisedRed};
  }
  if (d == "minor") {
    return {"Minor discrepancy",
            "A difference that does not change treatment or prognosis.",
            {1.0, 0.95, 0.85},
            {0.70, 0.44, 0.0}};
  }
  if (d == "concordant") {
    return {"Concordant", "No disagreement with the original report.", {0.90, 0.96, 0.91}, kConfirmedGreen};
  }
  return {"Discrepancy not yet categorised",
          "The consultant has not yet recorded a discrepancy category.",
          {0.94, 0.94, 0.95},
          kMuted};
}

// One pass of the layout over a PDF surface. With `dry`, images are not painted: the pass only counts pages.
class Layout {
 public:
  Layout(cairo_surface_t* surface, const ReportDocument& doc, int total_pages, bool dry)
      : cr_(cairo_create(surface)), doc_(doc), total_(total_pages), dry_(dry) {
    if (cairo_status(cr_.get()) != CAIRO_STATUS_SUCCESS) throw std::runtime_error("cairo: cannot create a context");
    signed_ = doc.report.status == "signed";
    begin_page();
  }

  int pages() const { return page_; }

  void draw() {
    title_block();
    if (!signed_) draft_banner();
    discrepancy_box();
    case_identification();
    question_and_history();
    comparison_table();
    blinded_read();
    consultant_comments();
    sign_out();
    addenda();
    original_full_text();
    figures();
    end_page();
    check();
  }

 private:
  cairo_t* cr() const { return cr_.get(); }

  void check() const {
    if (const cairo_status_t st = cairo_status(cr()); st != CAIRO_STATUS_SUCCESS) {
      throw std::runtime_error(std::string("cairo: ") + cairo_status_to_string(st));
    }
  }

  // ---- text primitives ----
  void font(Font f) {
    const FontSpec s = spec(f);
    cairo_select_font_face(cr(), "DejaVu Sans", s.slant, s.weight);
    cairo_set_font_size(cr(), s.size);
  }
  void color(Rgb c, double alpha = 1) { cairo_set_source_rgba(cr(), c.r, c.g, c.b, alpha); }
  double width(const std::string& s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr(), s.c_str(), &e);
    return e.x_advance;
  }
  void text_at(double x, double baseline, const std::string& s) {
    cairo_move_to(cr(), x, baseline);
    cairo_show_text(cr(), s.c_str());
  }
  // Lines of at most `max` points in the current font: paragraphs at '\n', words at spaces, and a word
  // longer than a line at characters.
  std::vector<std::string> wrap(const std::string& raw, double max) {
    const std::string text = clean(raw);
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t nl = text.find('\n', start);
      const std::string para = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      std::string line;
      std::size_t i = 0;
      while (i < para.size()) {
        while (i < para.size() && para[i] == ' ') ++i;
        if (i >= para.size()) break;
        std::size_t j = para.find(' ', i);
        if (j == std::string::npos) j = para.size();
        std::string word = para.substr(i, j - i);
        i = j;
        const std::string candidate = line.empty() ? word : line + " " + word;
        if (width(candidate) <= max) {
          line = candidate;
          continue;
        }
        if (!line.empty()) lines.push_back(line);
        line.clear();
        // A word wider than the line is cut between characters.
        while (width(word) > max) {
          std::size_t cut = 0, k = 0;
          while (k < word.size()) {
            std::size_t n = 1;
            while (k + n < word.size() && (static_cast<unsigned char>(word[k + n]) & 0xC0) == 0x80) ++n;
            if (width(word.substr(0, k + n)) > max) break;
            k += n;
            cut = k;
          }
          if (cut == 0) cut = std::min<std::size_t>(word.size(), 1);
          lines.push_back(word.substr(0, cut));
          word = word.substr(cut);
        }
        line = word;
      }
      lines.push_back(line);
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    return lines;
  }

  // ---- pages ----
  void begin_page() {
    ++page_;
    y_ = kTop;
    if (page_ > 1) {
      // A running head, so that a loose page still says whose report it is.
      font(Font::small_bold);
      color(kNavy);
      text_at(kLeft, kTop - 18, clean("Pathology second-opinion report · " + doc_.kase.accession));
      font(Font::small);
      color(kMuted);
      const std::string right = signed_ ? "Signed" : "DRAFT — not signed";
      text_at(kRight - width(right), kTop - 18, right);
      rule(kTop - 12, kRule, 0.6);
      y_ = kTop + 2;
    }
  }
  void end_page() {
    if (!signed_) watermark();
    rule(kBottom + 14, kRule, 0.6);
    font(Font::small);
    color(kMuted);
    const std::string left = clean("Accession " + doc_.kase.accession + " · Patient " + doc_.kase.patient_ref +
                                   " · Generated " + when(doc_.generated_at) + " by Reread");
    text_at(kLeft, kBottom + 28, left);
    const std::string right =
        "Page " + std::to_string(page_) + (total_ > 0 ? " of " + std::to_string(total_) : std::string());
    font(Font::small_bold);
    text_at(kRight - width(right), kBottom + 28, right);
    cairo_show_page(cr());
  }
  void new_page() {
    end_page();
    begin_page();
  }
  // Starts a new page unless `h` more points fit on this one.
  bool ensure(double h) {
    if (y_ + h <= kBottom) return false;
    new_page();
    return true;
  }
  void watermark() {
    cairo_save(cr());
    cairo_translate(cr(), kPageW / 2, kPageH / 2);
    cairo_rotate(cr(), -std::atan2(kPageH, kPageW));
    cairo_select_font_face(cr(), "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr(), 120);
    color(kRevisedRed, 0.09);
    const double w = width("DRAFT");
    text_at(-w / 2, 42, "DRAFT");
    cairo_restore(cr());
  }

  // ---- shapes ----
  void rule(double y, Rgb c, double lw, double x0 = kLeft, double x1 = kRight) {
    cairo_move_to(cr(), x0, y);
    cairo_line_to(cr(), x1, y);
    cairo_set_line_width(cr(), lw);
    color(c);
    cairo_stroke(cr());
  }
  void fill_rect(double x, double y, double w, double h, Rgb c, double alpha = 1) {
    cairo_rectangle(cr(), x, y, w, h);
    color(c, alpha);
    cairo_fill(cr());
  }
  void rounded(double x, double y, double w, double h, double r) {
    cairo_new_sub_path(cr());
    cairo_arc(cr(), x + w - r, y + r, r, -kPi / 2, 0);
    cairo_arc(cr(), x + w - r, y + h - r, r, 0, kPi / 2);
    cairo_arc(cr(), x + r, y + h - r, r, kPi / 2, kPi);
    cairo_arc(cr(), x + r, y + r, r, kPi, 3 * kPi / 2);
    cairo_close_path(cr());
  }

  // ---- blocks ----
  void heading(const std::string& title) {
    ensure(18 + 3 * line_height(Font::body));  // keep a heading with the start of what follows
    y_ += 12;
    font(Font::heading);
    color(kNavy);
    text_at(kLeft, y_ + 11, clean(title));
    y_ += 16;
    rule(y_, kNavy, 0.8);
    y_ += 7;
  }
  // A paragraph that may run across pages.
  void paragraph(const std::string& text, Font f = Font::body, Rgb c = kInk, double indent = 0) {
    font(f);
    const double lh = line_height(f);
    for (const auto& line : wrap(text, kWidth - indent)) {
      if (ensure(lh)) font(f);
      color(c);
      text_at(kLeft + indent, y_ + spec(f).size, line);
      y_ += lh;
    }
  }
  // A labelled paragraph: the label small above the text; "not stated" when there is none.
  void labelled(const std::string& label, const std::string& text) {
    ensure(line_height(Font::small) + line_height(Font::body));
    font(Font::small_bold);
    color(kMuted);
    text_at(kLeft, y_ + spec(Font::small).size, label);
    y_ += line_height(Font::small) + 1;
    if (text.empty()) {
      paragraph("Not stated", Font::body_italic, kMuted);
    } else {
      paragraph(text);
    }
    y_ += 5;
  }

  void title_block() {
    font(Font::title);
    color(kNavy);
    text_at(kLeft, y_ + 17, "Pathology second-opinion report");
    font(Font::small);
    color(kMuted);
    text_at(kLeft, y_ + 31, "Consultation on outside material (re-read of the slides and the original report)");
    // The accession, top right, large: the first thing matched against the patient's record.
    font(Font::small_bold);
    const std::string acc_label = "ACCESSION";
    text_at(kRight - width(acc_label), y_ + 8, acc_label);
    font(Font::big);
    color(kInk);
    const std::string acc = clean(doc_.kase.accession);
    text_at(kRight - width(acc), y_ + 26, acc);
    font(Font::small);
    color(signed_ ? kMuted : Rgb{0.62, 0.30, 0.0});
    const std::string state =
        signed_ ? "Signed out " + when(doc_.report.signed_at.value_or("")) : std::string("DRAFT — not signed");
    text_at(kRight - width(state), y_ + 38, state);
    y_ += 44;
    rule(y_, kNavy, 2.0);
    y_ += 10;
  }

  void draft_banner() {
    const double h = 40;
    ensure(h + 8);
    rounded(kLeft, y_, kWidth, h, 3);
    color({1.0, 0.95, 0.86});
    cairo_fill_preserve(cr());
    color({0.80, 0.45, 0.0});
    cairo_set_line_width(cr(), 1.2);
    cairo_stroke(cr());
    font(Font::big);
    color({0.62, 0.30, 0.0});
    text_at(kLeft + 12, y_ + 17, "DRAFT — not signed");
    font(Font::small);
    color(kInk);
    text_at(kLeft + 12, y_ + 31,
            "Version " + std::to_string(doc_.report.version) +
                (doc_.report.updated_at.empty() ? std::string() : ", last saved " + when(doc_.report.updated_at)) +
                ". Not a final opinion: do not use for treatment decisions.");
    y_ += h + 10;
  }

  void discrepancy_box() {
    const std::string recorded = doc_.report.discrepancy.value_or("");
    const std::string proposed = doc_.comparison.value("proposed_discrepancy", std::string());
    const DiscrepancyStyle st = discrepancy_style(recorded);
    std::string note = st.meaning;
    if (recorded.empty() && !proposed.empty()) {
      note += " The revised fields below suggest " + proposed + ".";
    } else if (!proposed.empty() && proposed != recorded) {
      note += " (The revised fields suggest " + proposed + "; the category above is the consultant's.)";
    }
    font(Font::body);
    const auto lines = wrap(note, kWidth - 30);
    const double h = 30 + static_cast<double>(lines.size()) * line_height(Font::body) + 6;
    ensure(h + 8);
    fill_rect(kLeft, y_, kWidth, h, st.fill);
    fill_rect(kLeft, y_, 5, h, st.bar);
    font(Font::small_bold);
    color(kMuted);
    text_at(kLeft + 16, y_ + 12, "DISCREPANCY CATEGORY");
    font(Font::big);
    color(st.bar);
    text_at(kLeft + 16, y_ + 28, st.headline);
    font(Font::body);
    color(kInk);
    double ly = y_ + 30 + spec(Font::body).size + 1;
    for (const auto& l : lines) {
      text_at(kLeft + 16, ly, l);
      ly += line_height(Font::body);
    }
    y_ += h + 4;
  }

  void case_identification() {
    heading("Case");
    const CaseRecord& k = doc_.kase;
    std::string slides;
    for (const auto& s : k.slides) slides += (slides.empty() ? "" : ", ") + (s.label.empty() ? s.slide_id : s.label);
    std::string consultants;
    for (const auto& c : k.consultants) consultants += (consultants.empty() ? "" : ", ") + person(c);
    const std::vector<std::pair<std::string, std::string>> cells = {
        {"Accession", k.accession},
        {"Patient (de-identified)", k.patient_ref},
        {"Specimen", k.specimen},
        {"Site", k.site},
        {"Originating institution", k.institution},
        {"Originating pathologist", k.originating_pathologist},
        {"Requested", when(k.requested_at)},
        {"Due", when(k.due_at)},
        {"Referrer", k.referrer.empty() ? std::string() : person(k.referrer)},
        {"Consultant", consultants},
        {"Slides", slides},
        {"Case status", k.status == "signed_out"  ? "Signed out"
                        : k.status == "in_review" ? "In review"
                                                  : "Requested"},
    };
    const double col_w = (kWidth - 16) / 2;
    for (std::size_t i = 0; i < cells.size(); i += 2) {
      font(Font::body);
      std::vector<std::string> a = wrap(cells[i].second.empty() ? "—" : cells[i].second, col_w);
      std::vector<std::string> b = i + 1 < cells.size()
                                       ? wrap(cells[i + 1].second.empty() ? "—" : cells[i + 1].second, col_w)
                                       : std::vector<std::string>{};
      const double h =
          line_height(Font::small) + static_cast<double>(std::max(a.size(), b.size())) * line_height(Font::body) + 4;
      ensure(h);
      const auto cell = [&](double x, const std::string& label, const std::vector<std::string>& lines, bool blank) {
        font(Font::small_bold);
        color(kMuted);
        text_at(x, y_ + spec(Font::small).size, label);
        font(blank ? Font::body_italic : Font::body);
        color(blank ? kMuted : kInk);
        double ly = y_ + line_height(Font::small) + spec(Font::body).size;
        for (const auto& l : lines) {
          text_at(x, ly, l);
          ly += line_height(Font::body);
        }
      };
      cell(kLeft, cells[i].first, a, cells[i].second.empty());
      if (i + 1 < cells.size()) cell(kLeft + col_w + 16, cells[i + 1].first, b, cells[i + 1].second.empty());
      y_ += h + 2;
    }
  }

  void question_and_history() {
    heading("The referrer's question");
    // The question in a box of its own: the consult answers it.
    font(Font::body_bold);
    const auto lines = wrap(doc_.kase.question.empty() ? "No question was stated." : doc_.kase.question, kWidth - 24);
    const double lh = line_height(Font::body);
    const double h = static_cast<double>(lines.size()) * lh + 12;
    if (h < kBottom - kTop - 40) ensure(h + 6);
    fill_rect(kLeft, y_, kWidth, h, kHeaderFill);
    fill_rect(kLeft, y_, 3, h, kNavy);
    double ly = y_ + 6 + spec(Font::body).size;
    color(kInk);
    for (const auto& l : lines) {
      text_at(kLeft + 14, ly, l);
      ly += lh;
    }
    y_ += h + 10;
    labelled("CLINICAL HISTORY", doc_.kase.clinical_history);
    if (!doc_.kase.proposed_treatment.empty()) labelled("PROPOSED TREATMENT", doc_.kase.proposed_treatment);
  }

  void comparison_table() {
    heading("Original report and consult opinion, field by field");
    const double c0 = 100, c3 = 66;
    const double c1 = (kWidth - c0 - c3) / 2, c2 = c1;
    const double xs[4] = {kLeft, kLeft + c0, kLeft + c0 + c1, kLeft + c0 + c1 + c2};
    const double ws[4] = {c0, c1, c2, c3};
    const double pad = 5;
    const auto header = [&] {
      const double h = line_height(Font::small) + 2 * pad;
      fill_rect(kLeft, y_, kWidth, h, kHeaderFill);
      font(Font::small_bold);
      color(kNavy);
      const char* titles[4] = {"FIELD", "ORIGINAL REPORT", "CONSULT OPINION", "REVIEW"};
      for (int i = 0; i < 4; ++i) text_at(xs[i] + pad, y_ + pad + spec(Font::small).size, titles[i]);
      y_ += h;
      rule(y_, kRule, 0.6);
    };
    ensure(3 * line_height(Font::body) + 30);
    header();
    const json& fields = doc_.comparison.contains("fields") ? doc_.comparison["fields"] : json::object();
    for (const std::string& name : report_field_names()) {
      const json f = fields.contains(name) ? fields[name] : json::object();
      const json verdict = f.value("verdict", json(nullptr));
      const bool changed = f.value("changed", false);
      const bool revised = verdict == "revised";
      const bool reviewed = !verdict.is_null();
      const std::string original = value_text(f.value("original", json(nullptr)));
      const std::string consult = reviewed ? value_text(f.value("revised", json(nullptr))) : std::string();

      font(Font::body_bold);
      const auto l0 = wrap(field_title(name), ws[0] - 2 * pad);
      font(Font::body);
      const auto l1 = wrap(original.empty() ? "Not stated" : original, ws[1] - 2 * pad);
      font(changed ? Font::body_bold : Font::body);
      const auto l2 = wrap(!reviewed ? "—" : consult.empty() ? "Not stated" : consult, ws[2] - 2 * pad);
      const std::size_t n = std::max({l0.size(), l1.size(), l2.size(), std::size_t{1}});
      const double h = static_cast<double>(n) * line_height(Font::body) + 2 * pad;
      if (ensure(h)) header();
      if (changed) {
        fill_rect(kLeft, y_, kWidth, h, kChangedFill);
        fill_rect(kLeft, y_, 3, h, kRevisedRed);
      }
      const auto column = [&](int i, const std::vector<std::string>& lines, Font fnt, Rgb c) {
        font(fnt);
        color(c);
        double ly = y_ + pad + spec(Font::body).size;
        for (const auto& l : lines) {
          text_at(xs[i] + pad, ly, l);
          ly += line_height(Font::body);
        }
      };
      column(0, l0, Font::body_bold, kInk);
      column(1, l1, original.empty() ? Font::body_italic : Font::body, original.empty() ? kMuted : kInk);
      column(2, l2,
             changed                          ? Font::body_bold
             : (!reviewed || consult.empty()) ? Font::body_italic
                                              : Font::body,
             changed    ? kRevisedRed
             : reviewed ? kInk
                        : kMuted);
      // The review column: a tag that stands out for a revision that changed the field.
      const double tx = xs[3] + pad, ty = y_ + pad;
      if (changed) {
        font(Font::small_bold);
        const std::string tag = "REVISED";
        const double tw = width(tag) + 10;
        rounded(tx, ty, tw, 13, 2.5);
        color(kRevisedRed);
        cairo_fill(cr());
        color(kWhite);
        text_at(tx + 5, ty + 9.5, tag);
      } else {
        font(reviewed ? Font::small_bold : Font::small_italic);
        color(reviewed ? kConfirmedGreen : kMuted);
        text_at(tx, ty + 9.5, revised ? "Revised, same" : reviewed ? "✓ Confirmed" : "Not reviewed");
      }
      y_ += h;
      rule(y_, kRule, 0.4);
    }
    y_ += 4;
    font(Font::small_italic);
    color(kMuted);
    ensure(line_height(Font::small));
    text_at(kLeft, y_ + spec(Font::small).size,
            doc_.comparison.value("all_fields_reviewed", false)
                ? "Every field was reviewed. Rows marked REVISED differ from the original report."
                : "Rows marked REVISED differ from the original report; “Not reviewed” fields were not assessed.");
    y_ += line_height(Font::small) + 4;
  }

  void blinded_read() {
    heading("Independence of the read");
    const auto& imp = doc_.report.initial_impression;
    if (!doc_.kase.blinded_first_read) {
      paragraph("Not blinded: the original report was available to the consultant throughout the review.");
    } else {
      paragraph(imp ? "Blinded first read: the consultant recorded an initial impression from the slides before "
                      "the original diagnosis, type, grade and stage were shown."
                    : "Blinded first read: the original report is hidden from the consultant until an initial "
                      "impression is recorded. None has been recorded yet.");
    }
    if (imp && imp->is_object() && !imp->empty()) {
      y_ += 4;
      font(Font::small_bold);
      ensure(line_height(Font::small) + line_height(Font::body));
      color(kMuted);
      text_at(kLeft, y_ + spec(Font::small).size, "INITIAL IMPRESSION");
      y_ += line_height(Font::small) + 1;
      std::vector<std::string> names = report_field_names();
      names.push_back("comment");
      for (const auto& name : names) {
        if (!imp->contains(name)) continue;
        font(Font::body);
        const auto lines = wrap(value_text((*imp)[name]), kWidth - 110);
        ensure(static_cast<double>(lines.size()) * line_height(Font::body));
        font(Font::body_bold);
        color(kInk);
        text_at(kLeft, y_ + spec(Font::body).size, field_title(name));
        font(Font::body);
        for (const auto& l : lines) {
          text_at(kLeft + 110, y_ + spec(Font::body).size, l);
          y_ += line_height(Font::body);
        }
      }
    }
  }

  void consultant_comments() {
    heading("Consultant's comment and recommendations");
    labelled("COMMENT", doc_.report.free_text);
    labelled("RECOMMENDED ADDITIONAL STUDIES", doc_.report.additional_studies);
    labelled("CLINICAL TRIAL COMMENTS", doc_.report.trial_comments);
  }

  void sign_out() {
    heading("Sign-out");
    if (signed_) {
      ensure(2 * line_height(Font::body));
      // "Electronically signed by <name> on <time>.", the name in bold.
      const std::string lead = "Electronically signed by ", who = clean(person(doc_.report.signed_by.value_or(""))),
                        tail = " on " + when(doc_.report.signed_at.value_or("")) + ".";
      const double baseline = y_ + spec(Font::body).size;
      color(kInk);
      font(Font::body);
      text_at(kLeft, baseline, lead);
      double x = kLeft + width(lead);
      font(Font::body_bold);
      text_at(x, baseline, who);
      x += width(who);
      font(Font::body);
      text_at(x, baseline, tail);
      y_ += line_height(Font::body);
      paragraph("A signed report is never changed; corrections and additions follow as signed addenda.", Font::small,
                kMuted);
    } else {
      paragraph("Not signed. This is draft version " + std::to_string(doc_.report.version) +
                    "; the report becomes final when the assigned consultant signs it out.",
                Font::body_bold, {0.62, 0.30, 0.0});
    }
  }

  void addenda() {
    if (doc_.report.addenda.empty()) return;
    heading("Addenda");
    int n = 0;
    for (const auto& a : doc_.report.addenda) {
      ensure(line_height(Font::small_bold) + 2 * line_height(Font::body));
      font(Font::small_bold);
      color(kNavy);
      text_at(
          kLeft, y_ + spec(Font::small).size,
          clean("ADDENDUM " + std::to_string(++n) + " — signed by " + person(a.author) + " on " + when(a.signed_at)));
      y_ += line_height(Font::small) + 1;
      paragraph(a.text, Font::body, kInk, 10);
      y_ += 6;
    }
  }

  void original_full_text() {
    const json& o = doc_.kase.original_report;
    if (!o.is_object() || !o.contains("full_text") || !o["full_text"].is_string()) return;
    const std::string text = o["full_text"].get<std::string>();
    if (text.empty()) return;
    heading("Original report as received");
    std::string from = doc_.kase.institution;
    if (!doc_.kase.originating_pathologist.empty()) {
      from += (from.empty() ? "" : ", ") + doc_.kase.originating_pathologist;
    }
    if (!from.empty()) paragraph("From " + from + ".", Font::small_italic, kMuted);
    y_ += 2;
    paragraph(text, Font::small, kInk);
  }

  void figures() {
    if (doc_.snapshots.empty()) return;
    // The heading goes with the first figure, never alone at the foot of a page.
    ensure(40 + plan_figure(doc_.snapshots.front(), 1).height);
    heading("Annotated regions referred to in the report");
    int n = 0;
    for (const auto& s : doc_.snapshots) figure(s, ++n);
  }

  struct FigurePlan {
    std::string title;
    std::vector<std::string> details, comment;
    double iw = kWidth, ih = 70, height = 0;
    bool has_class = false;  // a class line in the caption (not for an annotation the record no longer has)
  };
  FigurePlan plan_figure(const ReportSnapshot& s, int n) {
    FigurePlan f;
    f.title = clean("Figure " + std::to_string(n) + " — " +
                    (s.label.empty() ? "annotation " + std::to_string(s.annotation_id) : s.label));
    // Where and how big, as far as the record still knows.
    std::vector<std::string> parts;
    if (!s.slide_label.empty()) parts.push_back("Slide " + s.slide_label);
    if (s.outline) {
      const bool line = std::holds_alternative<ann::LineString>(*s.outline);
      if (s.measurement.length_um) {
        parts.push_back((line ? "Length " : "Perimeter ") + length_text(*s.measurement.length_um));
      }
      if (s.measurement.area_mm2) parts.push_back("Area " + area_text(*s.measurement.area_mm2));
    }
    if (s.um_per_px && !s.image.empty()) {
      const double fw = (s.region.max_x - s.region.min_x) * *s.um_per_px / 1000;
      const double fh = (s.region.max_y - s.region.min_y) * *s.um_per_px / 1000;
      parts.push_back("Field " + fixed(fw, 2) + " × " + fixed(fh, 2) + " mm");
    }
    if (!s.author.empty()) parts.push_back("Marked by " + person(s.author));
    std::string details;
    for (const auto& part : parts) details += (details.empty() ? "" : " · ") + part;
    f.has_class = s.outline.has_value() || !s.class_name.empty();
    // The image as wide as the text, at most about half a page high.
    if (!s.image.empty()) {
      f.ih = kWidth * s.image.height / s.image.width;
      const double max_h = 400;
      if (f.ih > max_h) {
        f.iw = kWidth * max_h / f.ih;
        f.ih = max_h;
      }
    }
    font(Font::small);
    if (!details.empty()) f.details = wrap(details, kWidth);
    if (!s.comment.empty()) {
      font(Font::small_italic);
      f.comment = wrap(s.comment, kWidth);
    }
    f.height =
        6 + line_height(Font::body) + 2 + f.ih + 5 +
        static_cast<double>(f.details.size() + f.comment.size() + (f.has_class ? 1 : 0)) * line_height(Font::small) +
        10;
    return f;
  }

  void figure(const ReportSnapshot& s, int n) {
    const FigurePlan f = plan_figure(s, n);
    const double iw = f.iw, ih = f.ih;
    ensure(f.height);
    y_ += 6;
    font(Font::body_bold);
    color(kInk);
    text_at(kLeft, y_ + spec(Font::body).size, f.title);
    y_ += line_height(Font::body) + 2;

    const double ix = kLeft + (kWidth - iw) / 2, iy = y_;
    if (s.image.empty()) {
      fill_rect(ix, iy, iw, ih, kHeaderFill);
      font(Font::body_italic);
      color(kMuted);
      const std::string why = clean("Image not available: " + (s.unavailable.empty() ? "no region" : s.unavailable));
      const auto lines = wrap(why, iw - 20);
      double ly = iy + ih / 2 - static_cast<double>(lines.size()) * line_height(Font::body) / 2 + 9;
      for (const auto& l : lines) {
        text_at(ix + (iw - width(l)) / 2, ly, l);
        ly += line_height(Font::body);
      }
    } else {
      if (!dry_) paint_image(s.image, ix, iy, iw, ih);
      if (s.outline) draw_outline(s, ix, iy, iw, ih);
      if (s.um_per_px) scale_bar(s, ix, iy, iw, ih);
    }
    cairo_rectangle(cr(), ix, iy, iw, ih);
    cairo_set_line_width(cr(), 0.6);
    color(kRule);
    cairo_stroke(cr());
    y_ = iy + ih + 5;

    // Caption: the class with its colour, then where and how big.
    if (f.has_class) {
      font(Font::small_bold);
      const double sw = 8;
      cairo_rectangle(cr(), kLeft, y_ + 1, sw, sw);
      cairo_set_source_rgb(cr(), s.color[0] / 255.0, s.color[1] / 255.0, s.color[2] / 255.0);
      cairo_fill_preserve(cr());
      color(kMuted);
      cairo_set_line_width(cr(), 0.4);
      cairo_stroke(cr());
      color(kInk);
      text_at(kLeft + sw + 5, y_ + spec(Font::small).size,
              clean("Class: " + (s.class_name.empty() ? std::string("unclassified") : s.class_name)));
      y_ += line_height(Font::small);
    }
    font(Font::small);
    color(kInk);
    for (const auto& l : f.details) {
      text_at(kLeft, y_ + spec(Font::small).size, l);
      y_ += line_height(Font::small);
    }
    font(Font::small_italic);
    color(kMuted);
    for (const auto& l : f.comment) {
      text_at(kLeft, y_ + spec(Font::small).size, l);
      y_ += line_height(Font::small);
    }
    y_ += 10;
  }

  void paint_image(const RgbImage& img, double x, double y, double w, double h) {
    Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, img.width, img.height));
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
      throw std::runtime_error("cairo: cannot create an image surface");
    }
    cairo_surface_flush(surface.get());
    unsigned char* data = cairo_image_surface_get_data(surface.get());
    const auto stride = static_cast<std::size_t>(cairo_image_surface_get_stride(surface.get()));
    for (int r = 0; r < img.height; ++r) {
      const std::uint8_t* in = img.row(r);
      auto* out = reinterpret_cast<std::uint32_t*>(data + stride * static_cast<std::size_t>(r));
      for (int c = 0; c < img.width; ++c, in += 3) {
        out[c] = 0xFF000000u | (std::uint32_t{in[0]} << 16) | (std::uint32_t{in[1]} << 8) | in[2];
      }
    }
    cairo_surface_mark_dirty(surface.get());
    // The PDF embeds the JPEG as it is rather than the raw pixels: a tenth of the size.
    const std::vector<std::uint8_t> jpeg = encode_jpeg(img.pixels.data(), img.width, img.height, img.stride(), 90);
    auto* copy = static_cast<unsigned char*>(std::malloc(jpeg.size()));
    if (copy != nullptr) {
      std::memcpy(copy, jpeg.data(), jpeg.size());
      if (cairo_surface_set_mime_data(surface.get(), CAIRO_MIME_TYPE_JPEG, copy, jpeg.size(), std::free, copy) !=
          CAIRO_STATUS_SUCCESS) {
        std::free(copy);
      }
    }
    cairo_save(cr());
    cairo_rectangle(cr(), x, y, w, h);
    cairo_clip(cr());
    cairo_translate(cr(), x, y);
    cairo_scale(cr(), w / img.width, h / img.height);
    cairo_set_source_surface(cr(), surface.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr()), CAIRO_FILTER_GOOD);
    cairo_paint(cr());
    cairo_restore(cr());
  }

  // The annotation over its region: a white halo under the class colour, so it shows on any stain.
  void draw_outline(const ReportSnapshot& s, double x, double y, double w, double h) {
    const double sx = w / (s.region.max_x - s.region.min_x), sy = h / (s.region.max_y - s.region.min_y);
    const auto px = [&](const ann::Position& p) {
      return std::pair{x + (p.x - s.region.min_x) * sx, y + (p.y - s.region.min_y) * sy};
    };
    const auto ring = [&](const std::vector<ann::Position>& pts, bool closed) {
      if (pts.empty()) return;
      const auto [x0, y0] = px(pts.front());
      cairo_move_to(cr(), x0, y0);
      for (std::size_t i = 1; i < pts.size(); ++i) {
        const auto [xi, yi] = px(pts[i]);
        cairo_line_to(cr(), xi, yi);
      }
      if (closed) cairo_close_path(cr());
    };
    const auto marker = [&](const ann::Position& p) {
      const auto [cx, cy] = px(p);
      cairo_new_sub_path(cr());
      cairo_arc(cr(), cx, cy, 6, 0, 2 * kPi);
      cairo_move_to(cr(), cx - 11, cy);
      cairo_line_to(cr(), cx - 3, cy);
      cairo_move_to(cr(), cx + 3, cy);
      cairo_line_to(cr(), cx + 11, cy);
      cairo_move_to(cr(), cx, cy - 11);
      cairo_line_to(cr(), cx, cy - 3);
      cairo_move_to(cr(), cx, cy + 3);
      cairo_line_to(cr(), cx, cy + 11);
    };
    const auto path = [&] {
      cairo_new_path(cr());
      std::visit(ann::Overloaded{
                     [&](const ann::Point& g) { marker(g.position); },
                     [&](const ann::MultiPoint& g) {
                       for (const auto& p : g.positions) marker(p);
                     },
                     [&](const ann::LineString& g) { ring(g.positions, false); },
                     [&](const ann::Polygon& g) {
                       for (const auto& r : g.rings) ring(r, true);
                     },
                     [&](const ann::MultiPolygon& g) {
                       for (const auto& poly : g.polygons) {
                         for (const auto& r : poly.rings) ring(r, true);
                       }
                     },
                 },
                 *s.outline);
    };
    cairo_save(cr());
    cairo_rectangle(cr(), x, y, w, h);
    cairo_clip(cr());
    cairo_set_line_join(cr(), CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr(), CAIRO_LINE_CAP_ROUND);
    path();
    cairo_set_source_rgba(cr(), 1, 1, 1, 0.85);
    cairo_set_line_width(cr(), 4.2);
    cairo_stroke(cr());
    path();
    cairo_set_source_rgb(cr(), s.color[0] / 255.0, s.color[1] / 255.0, s.color[2] / 255.0);
    cairo_set_line_width(cr(), 2.2);
    cairo_stroke(cr());
    cairo_restore(cr());
  }

  // A bar of a round number of microns, about a fifth of the image wide, bottom left on a white plate.
  void scale_bar(const ReportSnapshot& s, double x, double y, double w, double h) {
    const double um_per_pt = (s.region.max_x - s.region.min_x) * *s.um_per_px / w;
    const double target = 0.2 * w * um_per_pt;
    double nice = 1;
    for (double decade = 1e-1; decade <= 1e6; decade *= 10) {
      for (double m : {1.0, 2.0, 5.0}) {
        if (m * decade <= target) nice = m * decade;
      }
    }
    const double bar = nice / um_per_pt;
    const std::string label =
        nice >= 1000 ? fixed(nice / 1000, nice >= 10000 ? 0 : 1) + " mm" : fixed(nice, nice < 1 ? 1 : 0) + " µm";
    font(Font::small_bold);
    const double plate_w = std::max(bar, width(label)) + 12, plate_h = 22;
    const double px0 = x + 8, py0 = y + h - plate_h - 8;
    rounded(px0, py0, plate_w, plate_h, 2);
    color(kWhite, 0.85);
    cairo_fill(cr());
    fill_rect(px0 + 6, py0 + plate_h - 8, bar, 3, kInk);
    color(kInk);
    text_at(px0 + 6, py0 + 10, label);
  }

  // A user as the record names them: "Dr A. Consultant (cons-a)" when a display name is known.
  std::string person(const std::string& user) const {
    if (user.empty()) return "unknown";
    const auto it = doc_.display_names.find(user);
    if (it == doc_.display_names.end() || it->second.empty() || it->second == user) return user;
    return it->second + " (" + user + ")";
  }

  Context cr_;
  const ReportDocument& doc_;
  int total_;
  bool dry_;
  bool signed_ = false;
  int page_ = 0;
  double y_ = kTop;
};

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}
cairo_status_t discard_bytes(void*, const unsigned char*, unsigned int) { return CAIRO_STATUS_SUCCESS; }

Surface pdf_surface(cairo_write_func_t write, void* closure) {
  Surface s(cairo_pdf_surface_create_for_stream(write, closure, kPageW, kPageH));
  if (cairo_surface_status(s.get()) != CAIRO_STATUS_SUCCESS) throw std::runtime_error("cairo: cannot create a PDF");
  return s;
}

}  // namespace

std::string render_report_pdf(const ReportDocument& doc) {
  // First pass: how many pages, for "Page i of n".
  int pages = 0;
  {
    Surface counting = pdf_surface(discard_bytes, nullptr);
    Layout layout(counting.get(), doc, 0, true);
    layout.draw();
    pages = layout.pages();
    cairo_surface_finish(counting.get());
  }
  std::string out;
  Surface surface = pdf_surface(append_bytes, &out);
  const std::string title = clean("Consult report " + doc.kase.accession);
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, title.c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_SUBJECT,
                                 "Pathology second-opinion report (consult on outside material)");
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "Reread");
  if (doc.report.signed_by) {
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_AUTHOR, clean(*doc.report.signed_by).c_str());
  }
  {
    Layout layout(surface.get(), doc, pages, false);
    layout.draw();
  }
  cairo_surface_finish(surface.get());
  if (const cairo_status_t st = cairo_surface_status(surface.get()); st != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("cairo: cannot write the PDF: ") + cairo_status_to_string(st));
  }
  return out;
}

}  // namespace reread
