// Label and macro images drawn with Cairo's image backend (software, so the bytes are reproducible).
#include "slide_label.h"

#include <cairo.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace reread {

namespace {

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
struct FontOptionsDeleter {
  void operator()(cairo_font_options_t* o) const { cairo_font_options_destroy(o); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;
using FontOptions = std::unique_ptr<cairo_font_options_t, FontOptionsDeleter>;

Surface make_surface(int width, int height) {
  Surface s(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  if (cairo_surface_status(s.get()) != CAIRO_STATUS_SUCCESS) throw std::runtime_error("cairo: cannot create a surface");
  return s;
}

Context make_context(cairo_surface_t* surface) {
  Context c(cairo_create(surface));
  if (cairo_status(c.get()) != CAIRO_STATUS_SUCCESS) throw std::runtime_error("cairo: cannot create a context");
  return c;
}

Surface surface_from(const RgbImage& image) {
  Surface s = make_surface(image.width, image.height);
  cairo_surface_flush(s.get());
  unsigned char* data = cairo_image_surface_get_data(s.get());
  const auto stride = static_cast<std::size_t>(cairo_image_surface_get_stride(s.get()));
  for (int y = 0; y < image.height; ++y) {
    const std::uint8_t* in = image.row(y);
    auto* out = reinterpret_cast<std::uint32_t*>(data + stride * static_cast<std::size_t>(y));
    for (int x = 0; x < image.width; ++x, in += 3) {
      out[x] = 0xFF000000u | (std::uint32_t{in[0]} << 16) | (std::uint32_t{in[1]} << 8) | in[2];
    }
  }
  cairo_surface_mark_dirty(s.get());
  return s;
}

RgbImage image_from(cairo_surface_t* surface) {
  cairo_surface_flush(surface);
  RgbImage image(cairo_image_surface_get_width(surface), cairo_image_surface_get_height(surface));
  const unsigned char* data = cairo_image_surface_get_data(surface);
  const auto stride = static_cast<std::size_t>(cairo_image_surface_get_stride(surface));
  for (int y = 0; y < image.height; ++y) {
    const auto* in = reinterpret_cast<const std::uint32_t*>(data + stride * static_cast<std::size_t>(y));
    std::uint8_t* out = image.row(y);
    for (int x = 0; x < image.width; ++x, out += 3) {
      out[0] = static_cast<std::uint8_t>(in[x] >> 16);
      out[1] = static_cast<std::uint8_t>(in[x] >> 8);
      out[2] = static_cast<std::uint8_t>(in[x]);
    }
  }
  return image;
}

// Fixed font options, so the system's fontconfig preferences (hinting, subpixel order) cannot change the bytes.
void use_label_font(cairo_t* cr, cairo_font_weight_t weight) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, weight);
  FontOptions options(cairo_font_options_create());
  cairo_font_options_set_antialias(options.get(), CAIRO_ANTIALIAS_GRAY);
  cairo_font_options_set_hint_style(options.get(), CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics(options.get(), CAIRO_HINT_METRICS_OFF);
  cairo_set_font_options(cr, options.get());
}

constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A deterministic sequence of choices from one seed.
class Picker {
 public:
  explicit Picker(std::uint64_t seed) : state_(mix64(seed ^ 0x4C4142454Cull)) {}
  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix64(state_);
  }
  int in_range(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }
  template <std::size_t N>
  std::string_view one_of(const std::array<std::string_view, N>& items) {
    return items[static_cast<std::size_t>(next() % N)];
  }

 private:
  std::uint64_t state_;
};

std::uint64_t hash_text(std::string_view text) {  // FNV-1a, then mixed
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  return mix64(h);
}

// Draws one line of text with its top at `top`, shrunk if needed to fit `max_width`; returns the next line's top.
double draw_line(cairo_t* cr, const std::string& text, double left, double top, double size, double max_width,
                 cairo_font_weight_t weight) {
  use_label_font(cr, weight);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  if (extents.x_advance > max_width && extents.x_advance > 0) {
    cairo_set_font_size(cr, size * max_width / extents.x_advance);
  }
  cairo_font_extents_t font;
  cairo_font_extents(cr, &font);
  cairo_move_to(cr, left, top + font.ascent);
  cairo_show_text(cr, text.c_str());
  return top + size * 1.3;
}

// A DataMatrix-like symbol: solid left and bottom edges, alternating top and right edges, data modules
// from the accession's hash. It only has to look like a barcode and differ between accessions.
void draw_barcode(cairo_t* cr, std::string_view payload, double left, double top, double side) {
  constexpr int kModules = 18;
  const double m = side / kModules;
  Picker bits(hash_text(payload));
  std::uint64_t word = 0;
  int left_bits = 0;
  for (int row = 0; row < kModules; ++row) {
    for (int col = 0; col < kModules; ++col) {
      bool dark = false;
      if (col == 0 || row == kModules - 1) {
        dark = true;
      } else if (row == 0) {
        dark = col % 2 == 0;
      } else if (col == kModules - 1) {
        dark = row % 2 == 1;
      } else {
        if (left_bits == 0) {
          word = bits.next();
          left_bits = 64;
        }
        dark = (word & 1) != 0;
        word >>= 1;
        --left_bits;
      }
      if (dark) cairo_rectangle(cr, left + col * m, top + row * m, m, m);
    }
  }
  cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
  cairo_fill(cr);
}

// The overview with its glass background stretched to pure white (judged from the corners, which are glass
// on any sensible slide), so that multiplying it onto the macro's glass leaves only the tissue.
RgbImage whitened(const RgbImage& overview) {
  RgbImage out = overview;
  const int xs[2] = {0, overview.width - 1}, ys[2] = {0, overview.height - 1};
  for (std::size_t c = 0; c < 3; ++c) {
    int white = 0;
    for (int y : ys) {
      for (int x : xs) white = std::max<int>(white, overview.row(y)[static_cast<std::size_t>(x) * 3 + c]);
    }
    if (white < 200) continue;  // corners are not glass: leave the colours alone
    for (std::size_t i = c; i < out.pixels.size(); i += 3) {
      out.pixels[i] = static_cast<std::uint8_t>(std::min(255, out.pixels[i] * 255 / white));
    }
  }
  return out;
}

}  // namespace

LabelText synthetic_label_text(std::uint64_t seed) {
  static constexpr std::array<std::string_view, 16> kSurnames = {
      "DOE",    "SMITH",     "JOHNSON", "GARCIA", "MILLER", "NGUYEN", "PATEL",   "KOWALSKI",
      "OKAFOR", "LINDQVIST", "ROSSI",   "TANAKA", "MARTIN", "HUGHES", "ALVAREZ", "BRENNAN"};
  static constexpr std::array<std::string_view, 16> kGivenNames = {
      "JANE",  "JOHN",    "MARIA", "ROBERT", "LINDA", "JAMES", "ANNA", "DAVID",
      "SARAH", "MICHAEL", "ELENA", "THOMAS", "GRACE", "PETER", "NORA", "SAMUEL"};
  static constexpr std::array<std::string_view, 6> kInstitutions = {
      "RIVERSIDE GENERAL HOSPITAL", "NORTHFIELD MEDICAL CENTER",    "LAKEVIEW UNIVERSITY HOSPITAL",
      "ST. ANSELM PATHOLOGY",       "MERIDIAN CLINICAL LABORATORY", "HARBOR VALLEY HEALTH"};
  Picker pick(seed);
  LabelText text;
  text.patient_name = std::string(pick.one_of(kSurnames)) + ", " + std::string(pick.one_of(kGivenNames)) + " " +
                      static_cast<char>('A' + pick.in_range(0, 25));

  const int year = pick.in_range(1930, 2005), month = pick.in_range(1, 12);
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int day = pick.in_range(1, kDays[static_cast<std::size_t>(month - 1)] + (month == 2 && leap ? 1 : 0));
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", year, month, day);
  text.date_of_birth = buffer;

  const int case_year = pick.in_range(18, 26), case_number = pick.in_range(1, 99999);
  const char block = static_cast<char>('A' + pick.in_range(0, 5));
  std::snprintf(buffer, sizeof buffer, "S%02d-%05d %c%d", case_year, case_number, block, pick.in_range(1, 9));
  text.accession = buffer;
  text.stain = "H&E";
  text.institution = std::string(pick.one_of(kInstitutions));
  return text;
}

RgbImage render_label(const LabelText& text, int width, int height) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("label: size must be positive");
  Surface surface = make_surface(width, height);
  Context context = make_context(surface.get());
  cairo_t* cr = context.get();
  const double w = width, h = height, unit = std::min(w, h);

  cairo_set_source_rgb(cr, 0.98, 0.98, 0.965);  // label paper
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0.78, 0.78, 0.76);
  cairo_set_line_width(cr, std::max(1.0, unit * 0.006));
  cairo_rectangle(cr, unit * 0.015, unit * 0.015, w - unit * 0.03, h - unit * 0.03);
  cairo_stroke(cr);

  const double margin = unit * 0.06, text_width = w - 2 * margin;
  cairo_set_source_rgb(cr, 0.02, 0.02, 0.02);
  double top = margin;
  top = draw_line(cr, text.institution, margin, top, unit * 0.05, text_width, CAIRO_FONT_WEIGHT_NORMAL);
  top += unit * 0.02;
  top = draw_line(cr, text.patient_name, margin, top, unit * 0.075, text_width, CAIRO_FONT_WEIGHT_BOLD);
  top = draw_line(cr, "DOB " + text.date_of_birth, margin, top, unit * 0.06, text_width, CAIRO_FONT_WEIGHT_NORMAL);
  top = draw_line(cr, text.accession, margin, top, unit * 0.085, text_width, CAIRO_FONT_WEIGHT_BOLD);
  top = draw_line(cr, text.stain, margin, top, unit * 0.07, text_width, CAIRO_FONT_WEIGHT_NORMAL);

  // The symbol fills the space left below the text, bottom right, as printed labels usually have it.
  const double side = std::min({h - top - margin, w - 2 * margin, unit * 0.42});
  if (side > 18) draw_barcode(cr, text.accession, w - margin - side, h - margin - side, side);
  return image_from(surface.get());
}

RgbImage render_macro(const RgbImage& overview, const RgbImage& label, int height) {
  if (height <= 0) throw std::invalid_argument("macro: height must be positive");
  const int width = height * 3;  // 75 x 25 mm
  Surface surface = make_surface(width, height);
  Context context = make_context(surface.get());
  cairo_t* cr = context.get();
  const double w = width, h = height;

  // Glass, photographed on a light stage, with a brighter bevel along its edges.
  cairo_set_source_rgb(cr, 0.80, 0.82, 0.83);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0.90, 0.91, 0.92);
  cairo_set_line_width(cr, std::max(1.0, h * 0.012));
  cairo_rectangle(cr, 0, 0, w, h);
  cairo_stroke(cr);

  // The label end: 22 mm of the slide's 75.
  const double label_end = h * 22.0 / 25.0, pad = h * 0.04;
  if (!label.empty()) {
    Surface source = surface_from(label);
    const double scale = std::min((label_end - 2 * pad) / label.width, (h - 2 * pad) / label.height);
    cairo_save(cr);
    cairo_translate(cr, (label_end - label.width * scale) / 2, (h - label.height * scale) / 2);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, source.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
  }

  // The coverslip's outline, then the tissue: multiplied onto the glass, so the scanned white vanishes.
  const double area_left = label_end + pad, area_width = w - label_end - 2 * pad, area_height = h - 2 * pad;
  cairo_set_source_rgb(cr, 0.88, 0.89, 0.90);
  cairo_set_line_width(cr, std::max(1.0, h * 0.004));
  cairo_rectangle(cr, area_left, pad, area_width, area_height);
  cairo_stroke(cr);
  if (!overview.empty()) {
    Surface source = surface_from(whitened(overview));
    const double scale = std::min(area_width / overview.width, area_height / overview.height);
    cairo_save(cr);
    cairo_translate(cr, area_left + (area_width - overview.width * scale) / 2,
                    pad + (area_height - overview.height * scale) / 2);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, source.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_set_operator(cr, CAIRO_OPERATOR_MULTIPLY);
    cairo_paint(cr);
    cairo_restore(cr);
  }
  return image_from(surface.get());
}

}  // namespace reread
