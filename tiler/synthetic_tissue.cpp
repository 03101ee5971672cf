// Procedural H&E slide: a seeded fragment layout, then per 256-pixel block stain concentrations from integer
// lattice noise, lumina and nuclei, turned into RGB through Beer-Lambert lookup tables.
#include "synthetic_tissue.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace reread {

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Randomness. Only integer hashing of (seed, feature, cell) is used, so a value never depends on which tile asked.

constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

constexpr std::uint64_t hash2(std::uint64_t key, std::int64_t i, std::int64_t j) {
  return mix64(key + static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ull +
               static_cast<std::uint64_t>(j) * 0xD1B54A32D192ED03ull);
}

// Independent uniforms from one object's hash: for per-object parameters, never per-pixel work.
class Draws {
 public:
  explicit Draws(std::uint64_t h) : state_(h) {}
  double next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return static_cast<double>(mix64(state_) >> 11) * 0x1.0p-53;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * next(); }
  bool chance(double p) { return next() < p; }

 private:
  std::uint64_t state_;
};

// One independent stream of randomness per feature, so tuning one feature never reshuffles another.
enum class Stream : std::uint64_t {
  kLayout = 1,
  kEdgeCoarse,
  kEdgeFine,
  kEpi0,
  kEpi1,
  kEpi2,
  kLymph0,
  kLymph,
  kFat,
  kFat2,
  kFamily,
  kBlotch,
  kWarp1,
  kWarp2,
  kFibreMod,
  kCyto,
  kFibreFine,
  kFibreCoarse,
  kFibreGap,
  kFibreFibril,
  kGrain,
  kChromatin,
  kNuclei,
  kLumina,
  kBlockGrain,
  kThresholds,
  kFatSeeds,
  kWobble,
};

std::uint64_t stream_key(std::uint64_t seed, Stream stream, std::uint64_t index = 0) {
  const std::uint64_t base = mix64(mix64(seed + 0x632BE59BD9B4E019ull) ^ static_cast<std::uint64_t>(stream));
  return mix64(base + index * 0xA0761D6478BD642Full);
}

// ---------------------------------------------------------------------------------------------------------------
// Integer value noise. Values are Q12 in [-4096, 4095]; fractions and weights are Q12 as well.

struct FadeTable {
  std::array<std::int32_t, 4097> v{};
  constexpr FadeTable() {
    for (std::int64_t t = 0; t <= 4096; ++t) {
      v[static_cast<std::size_t>(t)] = static_cast<std::int32_t>((t * t * (3 * 4096 - 2 * t)) >> 24);
    }
  }
};
constexpr FadeTable kFade;  // smoothstep, so lattice cells do not show as creases

constexpr int lerp12(int a, int b, int f) { return a + (((b - a) * f) >> 12); }
constexpr std::int64_t lerp12(std::int64_t a, std::int64_t b, std::int64_t f) { return a + (((b - a) * f) >> 12); }

inline int fade_of(std::int64_t q16) { return kFade.v[static_cast<std::size_t>((q16 >> 4) & 4095)]; }

struct Octave {
  std::uint64_t key = 0;
  std::int64_t step = 65536;  // lattice cells per level-0 pixel, Q16: positions are exact integers

  static Octave with_cell(std::uint64_t key, double cell_px) {
    Octave o;
    o.key = key;
    o.step = std::max<std::int64_t>(1, std::llround(65536.0 / cell_px));
    return o;
  }
  int lattice(std::int64_t i, std::int64_t j) const { return static_cast<int>(hash2(key, i, j) >> 51) - 4096; }

  // Vertical blend first, exactly as OctaveRow does, so point and row evaluation agree bit for bit.
  int at(std::int64_t x, std::int64_t y) const {
    const std::int64_t px = x * step, py = y * step;
    const std::int64_t i = px >> 16, j = py >> 16;
    const int fy = fade_of(py);
    const int left = lerp12(lattice(i, j), lattice(i, j + 1), fy);
    const int right = lerp12(lattice(i + 1, j), lattice(i + 1, j + 1), fy);
    return lerp12(left, right, fade_of(px));
  }
};

// An octave sampled along the rows of one block: lattice rows are hashed once per lattice row, columns once per
// pixel row, leaving a single horizontal blend per pixel.
class OctaveRow {
 public:
  void start(const Octave& o, std::int64_t x0, int w) {
    octave_ = &o;
    i0_ = (x0 * o.step) >> 16;
    const auto n = static_cast<std::size_t>((((x0 + w - 1) * o.step) >> 16) - i0_ + 2);
    top_.resize(n);
    bottom_.resize(n);
    column_.resize(n);
    have_rows_ = false;
  }
  void set_row(std::int64_t y) {
    const std::int64_t py = y * octave_->step;
    const std::int64_t j = py >> 16;
    if (!have_rows_ || j != j_) {
      if (have_rows_ && j == j_ + 1) {
        std::swap(top_, bottom_);
      } else {
        fill(top_, j);
      }
      fill(bottom_, j + 1);
      j_ = j;
      have_rows_ = true;
    }
    const int fy = fade_of(py);
    for (std::size_t k = 0; k < column_.size(); ++k) column_[k] = lerp12(top_[k], bottom_[k], fy);
  }
  int at(std::int64_t x) const {
    const std::int64_t p = x * octave_->step;
    const auto k = static_cast<std::size_t>((p >> 16) - i0_);
    return lerp12(column_[k], column_[k + 1], fade_of(p));
  }

 private:
  void fill(std::vector<int>& row, std::int64_t j) const {
    for (std::size_t k = 0; k < row.size(); ++k) row[k] = octave_->lattice(i0_ + static_cast<std::int64_t>(k), j);
  }
  const Octave* octave_ = nullptr;
  std::int64_t i0_ = 0, j_ = 0;
  bool have_rows_ = false;
  std::vector<int> top_, bottom_, column_;
};

// Smooth 0..4096 weight rising from `lo` to `hi` (Q12 noise units), without a per-pixel division.
struct Ramp {
  int lo = 0;
  std::int64_t inv = 1;  // 4096 / (hi - lo), Q16
  static Ramp between(int lo, int hi) { return {lo, (std::int64_t{4096} << 16) / std::max(1, hi - lo)}; }
  int operator()(int v) const {
    const std::int64_t t = std::clamp<std::int64_t>(((v - lo) * inv) >> 16, 0, 4096);
    return kFade.v[static_cast<std::size_t>(t)];
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Appearance constants: sizes in microns, stain amounts as Q10 optical density. Tuned by eye to resemble 40x H&E scans.

constexpr int kBlockShift = 8;
constexpr std::int64_t kBlock = std::int64_t{1} << kBlockShift;  // work unit, aligned to absolute coordinates

constexpr std::array<int, 3> kGlass = {246, 244, 240};        // lamp through bare glass: near white, warm
constexpr std::array<int, 3> kHematoxylin = {635, 758, 276};  // OD per unit stain, Q10 (blue-purple)
constexpr std::array<int, 3> kEosin = {109, 922, 430};        // (pink)

constexpr double kNucleusCellUm = 9.0;    // jittered grid of candidate nuclei
constexpr double kNucleusReachUm = 11.0;  // the largest nucleus extends this far from its centre
constexpr double kLumenCellUm = 80.0;     // jittered grid of candidate lumina / vacuoles
constexpr double kLumenReachUm = 48.0;    // lumen, lobe and ring of nuclei around it

constexpr double kFatCellUm = 66.0;                        // adipocyte spacing (Voronoi seeds)
constexpr double kFibreUm = 2.0;                           // fine collagen stripe lattice
constexpr double kWarpCoarseUm = 16.0, kWarpFineUm = 3.0;  // how far fibres wander sideways

// ---------------------------------------------------------------------------------------------------------------
// Ellipses rasterized in integer fixed point: Q8 pixel positions, Q14 rotation, Q16 normalised radius squared.

struct Ellipse {
  std::int64_t cx = 0, cy = 0;  // centre, Q8 px
  std::int64_t cos = 16384, sin = 0;
  std::int64_t ka = 0, kb = 0;                  // r2 = (u*u*ka + v*v*kb) >> 32, with u, v the rotated offsets in Q8 px
  std::int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // pixel bounding box, half-open
  std::int64_t edge_gain = 0;                   // Q8 coverage per Q16 of (1 - r2): about one pixel of anti-aliasing

  // Radii in px; `reach` >= 1 widens the box for effects drawn just outside the outline.
  static Ellipse make(double cx_px, double cy_px, double ra_px, double rb_px, double angle, double reach) {
    Ellipse e;
    ra_px = std::max(ra_px, 0.75);
    rb_px = std::max(rb_px, 0.75);
    e.cx = std::llround(cx_px * 256.0);
    e.cy = std::llround(cy_px * 256.0);
    const double c = std::cos(angle), s = std::sin(angle);
    e.cos = std::llround(c * 16384.0);
    e.sin = std::llround(s * 16384.0);
    e.ka = std::llround(0x1.0p48 / (ra_px * ra_px * 65536.0));
    e.kb = std::llround(0x1.0p48 / (rb_px * rb_px * 65536.0));
    const double hx = std::sqrt(ra_px * ra_px * c * c + rb_px * rb_px * s * s) * reach + 1.0;
    const double hy = std::sqrt(ra_px * ra_px * s * s + rb_px * rb_px * c * c) * reach + 1.0;
    e.x0 = static_cast<std::int64_t>(std::floor(cx_px - hx));
    e.x1 = static_cast<std::int64_t>(std::ceil(cx_px + hx)) + 1;
    e.y0 = static_cast<std::int64_t>(std::floor(cy_px - hy));
    e.y1 = static_cast<std::int64_t>(std::ceil(cy_px + hy)) + 1;
    e.edge_gain = std::llround(128.0 * std::min(ra_px, rb_px));
    return e;
  }

  // Normalised radius squared (65536 on the outline) of level-0 pixel (x, y)'s centre. Only meaningful inside
  // the box: far outside, the fixed-point products would overflow.
  std::int64_t r2(std::int64_t x, std::int64_t y) const {
    const std::int64_t dx = (x << 8) + 128 - cx, dy = (y << 8) + 128 - cy;
    const std::int64_t u = (dx * cos + dy * sin) >> 14, v = (dy * cos - dx * sin) >> 14;
    return (u * u * ka + v * v * kb) >> 32;
  }
  // Whether the pixel lies within the outline scaled so that r2 < limit (limit must stay inside the box).
  bool covers(std::int64_t x, std::int64_t y, std::int64_t limit = 65536) const {
    return x >= x0 && x < x1 && y >= y0 && y < y1 && r2(x, y) < limit;
  }
};

// Walks the ellipse's box clipped to a block, calling fn(block pixel index, x, y, r2).
// The rotated offsets advance by exact integer steps, so the result equals Ellipse::r2 pixel by pixel.
template <typename Fn>
void for_each_pixel(const Ellipse& e, std::int64_t bx0, std::int64_t by0, int bw, int bh, Fn&& fn) {
  const std::int64_t x0 = std::max(e.x0, bx0), x1 = std::min(e.x1, bx0 + bw);
  const std::int64_t y0 = std::max(e.y0, by0), y1 = std::min(e.y1, by0 + bh);
  if (x0 >= x1 || y0 >= y1) return;
  const std::int64_t dx0 = (x0 << 8) + 128 - e.cx;
  for (std::int64_t y = y0; y < y1; ++y) {
    const std::int64_t dy = (y << 8) + 128 - e.cy;
    std::int64_t uu = dx0 * e.cos + dy * e.sin, vv = dy * e.cos - dx0 * e.sin;
    const std::int64_t du = 256 * e.cos, dv = 256 * e.sin;
    std::size_t index = static_cast<std::size_t>((y - by0) * bw + (x0 - bx0));
    for (std::int64_t x = x0; x < x1; ++x, ++index, uu += du, vv -= dv) {
      const std::int64_t u = uu >> 14, v = vv >> 14;
      fn(index, x, y, (u * u * e.ka + v * v * e.kb) >> 32);
    }
  }
}

// A tissue fragment: an ellipse whose radius wanders with angle (harmonics) and position (noise).
struct Fragment {
  static constexpr double kWobbleCoarse = 0.10, kWobbleFine = 0.045;
  double cx = 0, cy = 0, a = 1, b = 1, cos_phi = 1, sin_phi = 0;
  std::array<double, 4> amp{}, phase{};  // harmonics 2..5
  Octave wobble_coarse, wobble_fine;

  double reach() const {
    double r = 1.0 + kWobbleCoarse + kWobbleFine;
    for (double v : amp) r += v;
    return r;
  }
  // Roughly the distance to the outline in px, positive inside.
  double field(std::int64_t x, std::int64_t y) const {
    const double dx = static_cast<double>(x) - cx, dy = static_cast<double>(y) - cy;
    const double u = (dx * cos_phi + dy * sin_phi) / a, v = (-dx * sin_phi + dy * cos_phi) / b;
    const double theta = std::atan2(v, u);
    double r = 1.0 + kWobbleCoarse * wobble_coarse.at(x, y) / 4096.0 + kWobbleFine * wobble_fine.at(x, y) / 4096.0;
    for (std::size_t k = 0; k < amp.size(); ++k) r += amp[k] * std::cos(static_cast<double>(k + 2) * theta + phase[k]);
    return (r - std::sqrt(u * u + v * v)) * b;
  }
};

// Places 3-6 fragments in a near-square grid of cells shaped to the slide, one per cell; `grow` scales them all.
std::vector<Fragment> layout_fragments(const SyntheticSlideSpec& spec, double edge_px, double grow) {
  Draws d(stream_key(spec.seed, Stream::kLayout));
  const int n = 3 + static_cast<int>(d.next() * 4.0);
  const double width = static_cast<double>(spec.width), height = static_cast<double>(spec.height);
  const int cols = std::clamp(static_cast<int>(std::lround(std::sqrt(n * width / height))), 1, n);
  const int rows = (n + cols - 1) / cols;
  std::vector<int> per_row(static_cast<std::size_t>(rows), n / rows);
  const int first_extra = static_cast<int>(d.next() * rows);
  for (int k = 0; k < n % rows; ++k) ++per_row[static_cast<std::size_t>((first_extra + k) % rows)];

  std::vector<Fragment> out;
  int index = 0;
  for (int r = 0; r < rows; ++r) {
    const int count = per_row[static_cast<std::size_t>(r)];
    const double ch = height / rows, cw = width / count;
    for (int c = 0; c < count; ++c, ++index) {
      Fragment f;
      const double margin = 0.04 * std::min(cw, ch);
      const double hx = cw / 2 - margin - edge_px, hy = ch / 2 - margin - edge_px;
      for (std::size_t k = 0; k < f.amp.size(); ++k) {
        f.amp[k] = d.uniform(0.0, 0.09) * 2.0 / static_cast<double>(k + 2);
        f.phase[k] = d.uniform(0.0, 2.0 * std::numbers::pi);
      }
      // Elongated cells get fragments roughly along them; square cells any orientation.
      const double cell_aspect = cw / ch;
      double phi = d.uniform(0.0, std::numbers::pi);
      if (cell_aspect > 1.3) phi = d.uniform(-0.35, 0.35);
      if (cell_aspect < 1 / 1.3) phi = std::numbers::pi / 2 + d.uniform(-0.35, 0.35);
      const double q = d.uniform(0.6, 0.95);
      const double c2 = std::cos(phi) * std::cos(phi), s2 = std::sin(phi) * std::sin(phi);
      const double ex = std::sqrt(c2 + q * q * s2), ey = std::sqrt(s2 + q * q * c2);
      const double reach = f.reach();
      const double s = std::max(1.0, std::min(hx / ex, hy / ey) / reach * d.uniform(0.85, 1.0) * grow);
      f.a = s;
      f.b = s * q;
      f.cos_phi = std::cos(phi);
      f.sin_phi = std::sin(phi);
      const double slack_x = std::max(0.0, hx - s * ex * reach), slack_y = std::max(0.0, hy - s * ey * reach);
      f.cx = (c + 0.5) * cw + d.uniform(-0.8, 0.8) * slack_x;
      f.cy = (r + 0.5) * ch + d.uniform(-0.8, 0.8) * slack_y;
      f.wobble_coarse =
          Octave::with_cell(stream_key(spec.seed, Stream::kWobble, 2 * static_cast<std::uint64_t>(index)), 0.45 * f.b);
      f.wobble_fine = Octave::with_cell(
          stream_key(spec.seed, Stream::kWobble, 2 * static_cast<std::uint64_t>(index) + 1), 0.12 * f.b);
      out.push_back(f);
    }
  }
  return out;
}

// Across-fibre profile of stromal collagen: fibrils (~1 um) and fibres (~2 um) on coarser bundles (~5 um), thin clefts
// at the zero crossings of a slower stripe noise. Periodic over kProfileCells fine cells (4 mm), so never seen to
// repeat.
constexpr std::int64_t kProfileCells = 2048, kProfileSub = 16;  // index = (stripe Q16 >> 12) & mask

std::vector<std::int32_t> build_fibre_profile(std::uint64_t seed) {
  const auto stripe = [&](Stream stream, int cells, double pos) {
    const std::uint64_t key = stream_key(seed, stream);
    const double f = std::floor(pos);
    const int i = static_cast<int>(f) % cells;
    double t = pos - f;
    t = t * t * (3 - 2 * t);
    const auto v = [&](int k) { return static_cast<double>(hash2(key, k % cells, 0) >> 11) * 0x1.0p-53 * 2.0 - 1.0; };
    return v(i) + (v(i + 1) - v(i)) * t;
  };
  std::vector<std::int32_t> out(static_cast<std::size_t>(kProfileCells * kProfileSub));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double pos = static_cast<double>(i) / kProfileSub;  // in fine cells
    const double fine = stripe(Stream::kFibreFine, kProfileCells, pos);
    const double bundle = stripe(Stream::kFibreCoarse, 832, pos * 832.0 / kProfileCells);
    const double fibril = stripe(Stream::kFibreFibril, 5120, pos * 5120.0 / kProfileCells);
    const double gap = stripe(Stream::kFibreGap, 384, pos * 384.0 / kProfileCells);
    const double density = std::clamp(0.5 * bundle + 0.4 * fine + 0.35 * fibril, -1.0, 1.0);
    const double cleft = std::max(0.0, 1.0 - std::abs(gap) / 0.06);
    const auto d = static_cast<std::uint32_t>(static_cast<std::int32_t>(std::lround(density * 2047.0))) & 0xFFFFu;
    out[i] = static_cast<std::int32_t>(d | (static_cast<std::uint32_t>(std::lround(cleft * 4096.0)) << 16));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Per-block features.

enum class NucleusKind { kLymphocyte, kTumour, kFibroblast, kGlandular, kEndothelial };

struct Nucleus {
  Ellipse shape;
  int hem = 0;                // Q10 hematoxylin at the centre
  std::int64_t rim = 0;       // extra towards the membrane, Q10 << 16 per (65536 - 36000) of r2
  int chromatin = 0;          // Q10 per 128 of texture
  std::int64_t wobble = 0;    // Q16 radius² per 128 of texture: lumpy outline
  std::int64_t r2_limit = 0;  // beyond this radius² not even the lumps reach
  std::int64_t tex_dx = 0, tex_dy = 0;
  bool has_nucleolus = false;
  std::int64_t ncx = 0, ncy = 0, nr2 = 0;  // nucleolus centre (Q8 px) and radius² (Q16 px²)
  int nucleolus_hem = 0;
};

struct Lumen {
  std::array<Ellipse, 2> parts;      // main body and an optional lobe
  std::array<Ellipse, 2> exclusion;  // zones kept free of the grid nuclei (room for the epithelial ring)
  int part_count = 1;
  int content_eos = 0;  // pale secretion / plasma inside
  bool gland = false;
  int ring_count = 0;  // epithelial (gland) or endothelial (vessel) nuclei around the main part
  int red_cells = 0;   // erythrocytes inside a vessel
  double cx = 0, cy = 0, ra = 0, rb = 0, angle = 0;  // main part in px, for placing the ring
  std::uint64_t ring_key = 0;
};

struct Region {
  int epi = 0;    // 0..4096 weight of epithelial / tumour nests
  int lymph = 0;  // 0..4096 weight of lymphoid aggregates
};

struct FibreFamily {
  std::int64_t kx = 0, ky = 0, kw1 = 0, kw2 = 0;  // stripe coordinate = x*kx + y*ky + warp1*kw1 + warp2*kw2 (Q16)
};

// The noise fields of the texture. The smooth ones are sampled on the control lattice; the last three per pixel.
enum Field : std::size_t {
  kEpi0,
  kEpi1,
  kEpi2,
  kLym0,
  kLym,
  kFat,
  kFat2,
  kFam,
  kBlot,
  kWarp1,
  kWarp2,
  kMod,
  kCyto,
  kEdgeC,
  kEdgeF,
  kFieldCount
};
constexpr std::size_t kFirstPixelField = kCyto;

// Smooth quantities at one control-lattice point (every ~4 um), blended bilinearly to the pixels between.
struct Control {
  int eos = 0, hem = 0;         // Q10 base stain
  int fibre = 0;                // Q10 eosin per full-scale fibre density
  int cleft = 0;                // Q10 eosin removed in a full-depth cleft
  int epi = 0;                  // 0..4096 weight of epithelial cytoplasm (granular)
  int fam = 0;                  // 0..4096 weight of fibre family A over B
  bool fat_zone = false;        // adipocytes may lie near here (not blended: only gates the fat pass)
  std::int64_t sa = 0, sb = 0;  // stripe coordinates of both fibre families, warp included (Q16 cells)
};

// An adipocyte lattice seed: fat cells are the Voronoi cells of fat seeds, their borders the thin septa.
struct FatSeed {
  std::int64_t x = 0, y = 0;
  bool fat = false;
};

// Reused per thread, so rendering small tiles does not allocate.
struct Scratch {
  std::vector<std::uint16_t> hem, eos;  // Q10 stain per pixel
  std::vector<std::uint8_t> cover;      // 0 glass .. 255 full tissue
  std::array<OctaveRow, kFieldCount - kFirstPixelField> rows;
  std::vector<Control> controls, ends;
  std::vector<std::int64_t> field_col;
  std::vector<Lumen> lumina;
  std::vector<FatSeed> fat_seeds;
};

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

class SyntheticTissueModel {
 public:
  explicit SyntheticTissueModel(const SyntheticSlideSpec& spec);

  const SyntheticSlideSpec& spec() const { return spec_; }
  double tissue_fraction() const { return tissue_fraction_; }
  bool is_tissue(std::int64_t x, std::int64_t y) const;
  void render(std::int64_t x, std::int64_t y, int w, int h, std::uint8_t* rgb, std::size_t stride) const;

 private:
  struct Block {
    std::int64_t x0, y0;
    int w, h;
    std::uint8_t* rgb;
    std::size_t stride;
    std::int64_t grain_dx, grain_dy;
  };

  void build_field(const std::vector<Fragment>& fragments);
  double coverage_of_field() const;
  std::int64_t coarse_at(std::int64_t x, std::int64_t y) const;
  std::int64_t fine_at(std::int64_t x, std::int64_t y) const;

  Region region_at(std::int64_t x, std::int64_t y) const;
  int fat_noise(std::int64_t x, std::int64_t y) const;
  double fibre_angle_at(std::int64_t x, std::int64_t y) const;

  Control control_at(std::int64_t x, std::int64_t y) const;
  void render_block(const Block& b, Scratch& s) const;
  void fill_glass(const Block& b) const;
  void stain_block(const Block& b, bool all_tissue, Scratch& s) const;
  void collect_lumina(const Block& b, Scratch& s) const;
  void draw_lumina(const Block& b, Scratch& s) const;
  FatSeed fat_seed(std::int64_t i, std::int64_t j) const;
  bool in_adipocyte(std::int64_t x, std::int64_t y) const;
  void draw_fat(const Block& b, Scratch& s) const;
  void draw_nuclei(const Block& b, Scratch& s) const;
  void draw_nucleus(const Nucleus& n, const Block& b, Scratch& s) const;
  Nucleus make_nucleus(NucleusKind kind, double cx_px, double cy_px, double angle, Draws& d) const;
  void to_rgb(const Block& b, const Scratch& s) const;

  SyntheticSlideSpec spec_;
  std::uint64_t nuclei_key_ = 0, lumina_key_ = 0, fat_seed_key_ = 0, block_grain_key_ = 0;
  double px_per_um_ = 4.0;
  double tissue_fraction_ = 0.0;

  // Tissue mask: a coarse signed-distance grid (Q4 px) blended bilinearly, plus fine noise near the outline.
  int grid_shift_ = 2;
  std::int64_t grid_w_ = 0, grid_h_ = 0;
  std::vector<std::int32_t> field_;
  std::int64_t edge_amp_coarse_ = 0, edge_amp_fine_ = 0;  // Q4 px per full-scale noise
  std::int64_t edge_reach_ = 0;                           // Q4 px: the most the fine noise can move the outline
  std::int64_t blocks_w_ = 0, blocks_h_ = 0;
  std::vector<std::uint8_t> block_class_;  // 0 glass, 1 mixed, 2 all tissue

  // Texture.
  int span_shift_ = 4;  // control lattice spacing: 2^span_shift_ px, about 4 um
  std::array<Octave, kFieldCount> octaves_;
  Ramp epi_ramp_, lymph_ramp_, family_ramp_, cleft_ramp_;
  int fat_at_ = 0;                // fat-noise level above which a fat-lattice seed is an adipocyte
  int fat_zone_at_ = 0;           // lower level that surely covers every adipocyte around such seeds
  std::int64_t fat_cell_px_ = 1;  // adipocyte lattice spacing
  FibreFamily family_a_, family_b_;
  std::vector<std::int32_t> fibre_profile_;  // across the fibres: density (low 16 bits, signed), cleft depth (high)
  std::vector<std::uint8_t> grain_;          // 256x256 sensor grain for tissue, biased to 0..10
  std::vector<std::uint8_t> glass_rgb_;      // 256x256 RGB of bare glass, faint grain included
  std::vector<std::uint8_t> chromatin_;      // 256x256 periodic smooth texture at ~1 um
  std::vector<std::uint32_t> stain_rgb_;     // (hem >> 4, eos >> 4) -> packed RGB, less 5 per channel
};

// ---------------------------------------------------------------------------------------------------------------
// Construction.

SyntheticTissueModel::SyntheticTissueModel(const SyntheticSlideSpec& spec) : spec_(spec) {
  if (spec.width <= 0 || spec.height <= 0) throw std::invalid_argument("synthetic slide: size must be positive");
  if (!(spec.mpp > 0.0) || !std::isfinite(spec.mpp)) throw std::invalid_argument("synthetic slide: mpp must be > 0");
  px_per_um_ = 1.0 / spec.mpp;
  span_shift_ = 0;
  while (span_shift_ < 4 && static_cast<double>(2 << span_shift_) <= 4.0 * px_per_um_) ++span_shift_;
  const std::uint64_t seed = spec.seed;
  const auto um = [&](double v) { return v * px_per_um_; };
  nuclei_key_ = stream_key(seed, Stream::kNuclei);
  lumina_key_ = stream_key(seed, Stream::kLumina);
  fat_seed_key_ = stream_key(seed, Stream::kFatSeeds);
  block_grain_key_ = stream_key(seed, Stream::kBlockGrain);

  // Noise fields, sized in microns (the last two roughen the tissue outline).
  const std::array<std::pair<Stream, double>, kFieldCount> cells = {{
      {Stream::kEpi0, 1400.0},
      {Stream::kEpi1, 260.0},
      {Stream::kEpi2, 85.0},
      {Stream::kLymph0, 900.0},
      {Stream::kLymph, 190.0},
      {Stream::kFat, 450.0},
      {Stream::kFat2, 170.0},
      {Stream::kFamily, 420.0},
      {Stream::kBlotch, 120.0},
      {Stream::kWarp1, 90.0},
      {Stream::kWarp2, 24.0},
      {Stream::kFibreMod, 16.0},
      {Stream::kCyto, 2.5},
      {Stream::kEdgeCoarse, 16.0},
      {Stream::kEdgeFine, 4.0},
  }};
  for (std::size_t k = 0; k < cells.size(); ++k) {
    octaves_[k] = Octave::with_cell(stream_key(seed, cells[k].first), um(cells[k].second));
  }

  // Outline roughness: a few microns, but never enough to eat a fragment on a tiny slide.
  const double min_side = static_cast<double>(std::min(spec.width, spec.height));
  const double edge_px = std::min(um(4.5), 0.01 * min_side);
  edge_amp_coarse_ = std::llround(edge_px * 16.0 * 0.72);
  edge_amp_fine_ = std::llround(edge_px * 16.0 * 0.28);
  edge_reach_ = edge_amp_coarse_ + edge_amp_fine_;

  // The grid stays at most 512 points a side, so construction is cheap even for 200k-pixel slides.
  grid_shift_ = 2;
  while ((std::max(spec.width, spec.height) >> grid_shift_) > 512) ++grid_shift_;
  grid_w_ = ((spec.width - 1) >> grid_shift_) + 2;
  grid_h_ = ((spec.height - 1) >> grid_shift_) + 2;

  // Aim for 25-45% tissue: grow or shrink the layout until the coarse field's coverage is near 35%.
  double grow = 1.0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    build_field(layout_fragments(spec, edge_px, grow));
    const double coverage = coverage_of_field();
    if (coverage >= 0.29 && coverage <= 0.41) break;
    grow *= std::clamp(std::sqrt(0.35 / std::max(coverage, 0.01)), 0.7, 1.35);
  }

  // Which 256-pixel blocks are all glass, all tissue, or need a per-pixel outline test.
  blocks_w_ = (spec.width + kBlock - 1) >> kBlockShift;
  blocks_h_ = (spec.height + kBlock - 1) >> kBlockShift;
  block_class_.assign(static_cast<std::size_t>(blocks_w_ * blocks_h_), 0);
  const std::int64_t soft = 24;  // Q4 px: 1.5 px anti-aliased outline
  for (std::int64_t by = 0; by < blocks_h_; ++by) {
    for (std::int64_t bx = 0; bx < blocks_w_; ++bx) {
      const std::int64_t x1 = std::min(spec.width, (bx + 1) * kBlock) - 1,
                         y1 = std::min(spec.height, (by + 1) * kBlock) - 1;
      std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
      for (std::int64_t gy = (by * kBlock) >> grid_shift_; gy <= (y1 >> grid_shift_) + 1; ++gy) {
        for (std::int64_t gx = (bx * kBlock) >> grid_shift_; gx <= (x1 >> grid_shift_) + 1; ++gx) {
          const std::int64_t v = field_[static_cast<std::size_t>(gy * grid_w_ + gx)];
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
      }
      std::uint8_t cls = 1;
      if (hi + edge_reach_ <= 0) cls = 0;
      if (lo - edge_reach_ >= soft) cls = 2;
      block_class_[static_cast<std::size_t>(by * blocks_w_ + bx)] = cls;
    }
  }

  // Slides differ in how much tumour and lymphoid tissue they hold.
  Draws mix(stream_key(seed, Stream::kThresholds));
  const int epi_at = static_cast<int>(mix.uniform(800.0, 2000.0));
  const int lym_at = static_cast<int>(mix.uniform(2300.0, 2900.0));
  fat_at_ = static_cast<int>(mix.uniform(2300.0, 3000.0));
  fat_zone_at_ = fat_at_ - 1400;
  fat_cell_px_ = std::max<std::int64_t>(4, std::llround(um(kFatCellUm)));
  epi_ramp_ = Ramp::between(epi_at - 350, epi_at + 350);
  lymph_ramp_ = Ramp::between(lym_at - 250, lym_at + 250);
  family_ramp_ = Ramp::between(-700, 700);
  cleft_ramp_ = Ramp::between(300, 1500);

  const auto make_family = [&](double angle) {
    FibreFamily f;
    const double per_px = 65536.0 / um(kFibreUm);    // stripe cells per px, Q16
    f.kx = std::llround(-std::sin(angle) * per_px);  // the stripe coordinate runs across the fibres
    f.ky = std::llround(std::cos(angle) * per_px);
    f.kw1 = std::llround(65536.0 * kWarpCoarseUm / kFibreUm / 4096.0);
    f.kw2 = std::llround(65536.0 * kWarpFineUm / kFibreUm / 4096.0);
    return f;
  };
  const double angle_a = mix.uniform(0.0, std::numbers::pi);
  family_a_ = make_family(angle_a);
  family_b_ = make_family(angle_a + mix.uniform(0.6, 1.3));
  fibre_profile_ = build_fibre_profile(seed);

  grain_.resize(65536);
  glass_rgb_.resize(65536 * 3);
  const std::uint64_t grain_key = stream_key(seed, Stream::kGrain);
  for (std::size_t i = 0; i < grain_.size(); ++i) {
    const std::uint64_t h = hash2(grain_key, static_cast<std::int64_t>(i), 0);
    const int sum3 = static_cast<int>(h & 7) + static_cast<int>((h >> 3) & 7) + static_cast<int>((h >> 6) & 7) - 10;
    grain_[i] = static_cast<std::uint8_t>(5 + sum3 / 2);  // -5..5 (bell shaped), biased by 5
    const int glass = (static_cast<int>((h >> 9) & 3) + static_cast<int>((h >> 11) & 3) - 3) / 2;  // -1..1
    for (std::size_t c = 0; c < 3; ++c) glass_rgb_[i * 3 + c] = static_cast<std::uint8_t>(kGlass[c] + glass);
  }

  // Chromatin: two octaves of periodic value noise at ~0.8 and ~2 um, one 256x256 texture per slide.
  chromatin_.resize(65536);
  const auto periodic_noise = [&](int period_cells, std::uint64_t key) {
    std::vector<double> lattice(static_cast<std::size_t>(period_cells * period_cells));
    for (int j = 0; j < period_cells; ++j) {
      for (int i = 0; i < period_cells; ++i) {
        lattice[static_cast<std::size_t>(j * period_cells + i)] =
            static_cast<double>(hash2(key, i, j) >> 11) * 0x1.0p-53 * 2.0 - 1.0;
      }
    }
    std::vector<double> out(65536);
    const double cell = 256.0 / period_cells;
    for (int y = 0; y < 256; ++y) {
      for (int x = 0; x < 256; ++x) {
        const double fx = x / cell, fy = y / cell;
        const int i = static_cast<int>(fx), j = static_cast<int>(fy);
        const double tx = fx - i, ty = fy - j;
        const double sx = tx * tx * (3 - 2 * tx), sy = ty * ty * (3 - 2 * ty);
        const auto at = [&](int ii, int jj) {
          return lattice[static_cast<std::size_t>((jj % period_cells) * period_cells + (ii % period_cells))];
        };
        const double top = at(i, j) + (at(i + 1, j) - at(i, j)) * sx;
        const double bottom = at(i, j + 1) + (at(i + 1, j + 1) - at(i, j + 1)) * sx;
        out[static_cast<std::size_t>(y * 256 + x)] = top + (bottom - top) * sy;
      }
    }
    return out;
  };
  const auto cells_for = [&](double size_um) {
    return std::clamp(static_cast<int>(std::lround(256.0 / um(size_um))), 1, 256);
  };
  const auto fine = periodic_noise(cells_for(0.8), stream_key(seed, Stream::kChromatin, 0));
  const auto coarse = periodic_noise(cells_for(2.0), stream_key(seed, Stream::kChromatin, 1));
  for (std::size_t i = 0; i < chromatin_.size(); ++i) {
    chromatin_[i] =
        static_cast<std::uint8_t>(std::clamp(128.0 + 150.0 * (0.6 * fine[i] + 0.4 * coarse[i]), 0.0, 255.0));
  }

  // Beer-Lambert, transmitted = lamp * exp(-OD), tabulated over both stains so a pixel costs one lookup.
  // Channels stay within 5..245, so adding the biased grain to all three at once never carries.
  stain_rgb_.resize(256 * 128);
  for (std::size_t h = 0; h < 256; ++h) {
    for (std::size_t e = 0; e < 128; ++e) {
      const double hem = (static_cast<double>(h) * 16 + 8) / 1024.0, eos = (static_cast<double>(e) * 16 + 8) / 1024.0;
      std::uint32_t packed = 0;
      for (std::size_t c = 0; c < 3; ++c) {
        const double od = (hem * kHematoxylin[c] + eos * kEosin[c]) / 1024.0;
        const long v = std::clamp(std::lround(kGlass[c] * std::exp(-od)), 5L, 245L) - 5;
        packed |= static_cast<std::uint32_t>(v) << (8 * c);
      }
      stain_rgb_[h * 128 + e] = packed;
    }
  }

  // Sample the exact mask for the reported fraction.
  const std::int64_t sx = std::max<std::int64_t>(1, spec.width / 400),
                     sy = std::max<std::int64_t>(1, spec.height / 400);
  std::int64_t inside = 0, total = 0;
  for (std::int64_t y = sy / 2; y < spec.height; y += sy) {
    for (std::int64_t x = sx / 2; x < spec.width; x += sx) {
      inside += is_tissue(x, y) ? 1 : 0;
      ++total;
    }
  }
  tissue_fraction_ = static_cast<double>(inside) / static_cast<double>(std::max<std::int64_t>(1, total));
}

void SyntheticTissueModel::build_field(const std::vector<Fragment>& fragments) {
  const std::int64_t g = std::int64_t{1} << grid_shift_;
  const double width = static_cast<double>(spec_.width), height = static_cast<double>(spec_.height);
  // Tissue keeps clear of the slide's edges whatever the fragments do.
  const double margin = 0.015 * std::min(width, height) + static_cast<double>(edge_reach_) / 16.0 + 2.0;
  constexpr double kLimit = 1 << 22;  // px; keeps bilinear blends well inside int64
  field_.assign(static_cast<std::size_t>(grid_w_ * grid_h_), 0);
  std::vector<double> best(field_.size(), -kLimit);
  for (const Fragment& f : fragments) {
    const double extent = f.reach() * f.a + 2.0 * static_cast<double>(g);
    const std::int64_t gx0 =
        std::max<std::int64_t>(0, static_cast<std::int64_t>((f.cx - extent) / static_cast<double>(g)));
    const std::int64_t gx1 =
        std::min<std::int64_t>(grid_w_ - 1, static_cast<std::int64_t>((f.cx + extent) / static_cast<double>(g)) + 1);
    const std::int64_t gy0 =
        std::max<std::int64_t>(0, static_cast<std::int64_t>((f.cy - extent) / static_cast<double>(g)));
    const std::int64_t gy1 =
        std::min<std::int64_t>(grid_h_ - 1, static_cast<std::int64_t>((f.cy + extent) / static_cast<double>(g)) + 1);
    for (std::int64_t gy = gy0; gy <= gy1; ++gy) {
      for (std::int64_t gx = gx0; gx <= gx1; ++gx) {
        double& v = best[static_cast<std::size_t>(gy * grid_w_ + gx)];
        v = std::max(v, f.field(gx * g, gy * g));
      }
    }
  }
  for (std::int64_t gy = 0; gy < grid_h_; ++gy) {
    for (std::int64_t gx = 0; gx < grid_w_; ++gx) {
      const double x = static_cast<double>(gx * g), y = static_cast<double>(gy * g);
      const double to_edge = std::min(std::min(x, width - 1 - x), std::min(y, height - 1 - y)) - margin;
      const double v =
          std::clamp(std::min(best[static_cast<std::size_t>(gy * grid_w_ + gx)], to_edge), -kLimit, kLimit);
      field_[static_cast<std::size_t>(gy * grid_w_ + gx)] = static_cast<std::int32_t>(std::lround(v * 16.0));
    }
  }
}

double SyntheticTissueModel::coverage_of_field() const {
  std::int64_t inside = 0, total = 0;
  for (std::int64_t gy = 0; (gy << grid_shift_) < spec_.height; ++gy) {
    for (std::int64_t gx = 0; (gx << grid_shift_) < spec_.width; ++gx) {
      inside += field_[static_cast<std::size_t>(gy * grid_w_ + gx)] > 0 ? 1 : 0;
      ++total;
    }
  }
  return static_cast<double>(inside) / static_cast<double>(std::max<std::int64_t>(1, total));
}

// ---------------------------------------------------------------------------------------------------------------
// The tissue mask.

std::int64_t SyntheticTissueModel::coarse_at(std::int64_t x, std::int64_t y) const {
  const std::int64_t gx = x >> grid_shift_, gy = y >> grid_shift_;
  const std::int64_t fx = ((x & ((std::int64_t{1} << grid_shift_) - 1)) << 12) >> grid_shift_;
  const std::int64_t fy = ((y & ((std::int64_t{1} << grid_shift_) - 1)) << 12) >> grid_shift_;
  const auto at = [&](std::int64_t i, std::int64_t j) -> std::int64_t {
    return field_[static_cast<std::size_t>(j * grid_w_ + i)];
  };
  const std::int64_t left = lerp12(at(gx, gy), at(gx, gy + 1), fy);
  const std::int64_t right = lerp12(at(gx + 1, gy), at(gx + 1, gy + 1), fy);
  return lerp12(left, right, fx);
}

std::int64_t SyntheticTissueModel::fine_at(std::int64_t x, std::int64_t y) const {
  return ((octaves_[kEdgeC].at(x, y) * edge_amp_coarse_) >> 12) + ((octaves_[kEdgeF].at(x, y) * edge_amp_fine_) >> 12);
}

bool SyntheticTissueModel::is_tissue(std::int64_t x, std::int64_t y) const {
  if (x < 0 || y < 0 || x >= spec_.width || y >= spec_.height) return false;
  const std::int64_t coarse = coarse_at(x, y);
  if (coarse > edge_reach_) return true;
  if (coarse <= -edge_reach_) return false;
  return coarse + fine_at(x, y) > 0;
}

Region SyntheticTissueModel::region_at(std::int64_t x, std::int64_t y) const {
  // Large-scale octaves make whole areas tumour- or lymphoid-rich, as on real slides.
  return {epi_ramp_(octaves_[kEpi0].at(x, y) + octaves_[kEpi1].at(x, y) + (octaves_[kEpi2].at(x, y) >> 1)),
          lymph_ramp_((octaves_[kLym0].at(x, y) >> 1) + octaves_[kLym].at(x, y))};
}

// Where fat lobules are: two octaves, the finer on a rotated lattice, so that thresholding them does not leave
// the squarish, axis-aligned blobs a single value-noise octave would.
int SyntheticTissueModel::fat_noise(std::int64_t x, std::int64_t y) const {
  const std::int64_t rx = (x * 13107 - y * 9830) >> 14, ry = (x * 9830 + y * 13107) >> 14;  // 37 degrees
  return octaves_[kFat].at(x, y) + (octaves_[kFat2].at(rx, ry) >> 1);
}

// Direction of the collagen fibres at a point: the family's angle bent by the local warp gradient.
double SyntheticTissueModel::fibre_angle_at(std::int64_t x, std::int64_t y) const {
  const FibreFamily& f = family_ramp_(octaves_[kFam].at(x, y)) >= 2048 ? family_a_ : family_b_;
  const std::int64_t d = std::max<std::int64_t>(1, std::llround(2.0 * px_per_um_));
  const auto warp = [&](std::int64_t px, std::int64_t py) {
    return static_cast<double>(octaves_[kWarp1].at(px, py) * f.kw1 + octaves_[kWarp2].at(px, py) * f.kw2);
  };
  const double gx = static_cast<double>(f.kx) + (warp(x + d, y) - warp(x - d, y)) / static_cast<double>(2 * d);
  const double gy = static_cast<double>(f.ky) + (warp(x, y + d) - warp(x, y - d)) / static_cast<double>(2 * d);
  return std::atan2(gy, gx) + std::numbers::pi / 2;  // fibres run across the stripe gradient
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering.

void SyntheticTissueModel::render(std::int64_t x, std::int64_t y, int w, int h, std::uint8_t* rgb,
                                  std::size_t stride) const {
  thread_local Scratch scratch;
  const auto floor_block = [](std::int64_t v) { return v >> kBlockShift; };  // arithmetic shift floors negatives
  for (std::int64_t by = floor_block(y); by <= floor_block(y + h - 1); ++by) {
    for (std::int64_t bx = floor_block(x); bx <= floor_block(x + w - 1); ++bx) {
      const std::int64_t x0 = std::max(x, bx * kBlock), x1 = std::min(x + w, (bx + 1) * kBlock);
      const std::int64_t y0 = std::max(y, by * kBlock), y1 = std::min(y + h, (by + 1) * kBlock);
      const std::uint64_t gh = hash2(block_grain_key_, bx, by);
      Block block{x0,
                  y0,
                  static_cast<int>(x1 - x0),
                  static_cast<int>(y1 - y0),
                  rgb + static_cast<std::size_t>(y0 - y) * stride + static_cast<std::size_t>(x0 - x) * 3,
                  stride,
                  static_cast<std::int64_t>(gh & 255),
                  static_cast<std::int64_t>((gh >> 8) & 255)};
      // Off the slide is bare glass; the on-slide part of a block is drawn over it.
      const std::int64_t sx0 = std::max<std::int64_t>(x0, 0), sx1 = std::min(x1, spec_.width);
      const std::int64_t sy0 = std::max<std::int64_t>(y0, 0), sy1 = std::min(y1, spec_.height);
      if (sx0 >= sx1 || sy0 >= sy1) {
        fill_glass(block);
        continue;
      }
      if (sx0 != x0 || sx1 != x1 || sy0 != y0 || sy1 != y1) {
        fill_glass(block);
        block.rgb += static_cast<std::size_t>(sy0 - y0) * stride + static_cast<std::size_t>(sx0 - x0) * 3;
        block.x0 = sx0;
        block.y0 = sy0;
        block.w = static_cast<int>(sx1 - sx0);
        block.h = static_cast<int>(sy1 - sy0);
      }
      render_block(block, scratch);
    }
  }
}

void SyntheticTissueModel::render_block(const Block& b, Scratch& s) const {
  const std::uint8_t cls =
      block_class_[static_cast<std::size_t>((b.y0 >> kBlockShift) * blocks_w_ + (b.x0 >> kBlockShift))];
  if (cls == 0) {
    fill_glass(b);
    return;
  }
  stain_block(b, cls == 2, s);
  collect_lumina(b, s);
  draw_lumina(b, s);
  draw_fat(b, s);
  draw_nuclei(b, s);
  to_rgb(b, s);
}

void SyntheticTissueModel::fill_glass(const Block& b) const {
  for (int r = 0; r < b.h; ++r) {
    std::uint8_t* out = b.rgb + static_cast<std::size_t>(r) * b.stride;
    const std::uint8_t* src = glass_rgb_.data() + static_cast<std::size_t>(((b.y0 + r + b.grain_dy) & 255) * 768);
    for (int c = 0; c < b.w;) {
      const auto start = static_cast<int>((b.x0 + c + b.grain_dx) & 255);
      const int n = std::min(b.w - c, 256 - start);
      std::memcpy(out + static_cast<std::size_t>(c) * 3, src + static_cast<std::size_t>(start) * 3,
                  static_cast<std::size_t>(n) * 3);
      c += n;
    }
  }
}

Control SyntheticTissueModel::control_at(std::int64_t x, std::int64_t y) const {
  const Region region = region_at(x, y);
  const int epi = region.epi, lym = region.lymph;
  const int blot = octaves_[kBlot].at(x, y), mod = octaves_[kMod].at(x, y);
  const int w1 = octaves_[kWarp1].at(x, y), w2 = octaves_[kWarp2].at(x, y);
  Control c;
  c.fam = family_ramp_(octaves_[kFam].at(x, y));
  c.fat_zone = fat_noise(x, y) > fat_zone_at_;
  c.sa = x * family_a_.kx + y * family_a_.ky + w1 * family_a_.kw1 + w2 * family_a_.kw2;
  c.sb = x * family_b_.kx + y * family_b_.ky + w1 * family_b_.kw1 + w2 * family_b_.kw2;
  const int stroma = ((4096 - epi) * (4096 - lym)) >> 12;
  const int e0 = 440 + ((440 * 9 * blot) >> 17);  // stromal eosin, blotchy at ~100 um
  int eos = (e0 * 3300) >> 12, hem = 50 + (blot >> 7);
  eos += ((330 + (blot >> 6) - eos) * epi) >> 12;  // lavender epithelial cytoplasm
  hem += ((120 - hem) * epi) >> 12;
  eos += ((210 + (mod >> 6) - eos) * lym) >> 12;  // little matrix between lymphocytes
  hem += ((200 - hem) * lym) >> 12;
  c.eos = eos;
  c.hem = hem;
  c.fibre = (((((e0 * 3500) >> 12) * (2900 + mod / 3)) >> 12) * stroma) >> 12;
  c.cleft = (((e0 * cleft_ramp_(mod)) >> 12) * stroma) >> 12;
  c.epi = epi;
  return c;
}

// Base stain of every pixel: stroma with wavy collagen, lavender epithelial nests, dense lymphoid patches.
// Smooth fields come from the control lattice (absolute, span-aligned points) blended bilinearly, which keeps
// them seamless and leaves only the fibre profile lookup and the outline test as per-pixel work.
void SyntheticTissueModel::stain_block(const Block& b, bool all_tissue, Scratch& s) const {
  const std::size_t n = static_cast<std::size_t>(b.w) * static_cast<std::size_t>(b.h);
  s.hem.resize(n);
  s.eos.resize(n);
  s.cover.resize(n);
  const int sh = span_shift_;
  const std::int64_t span = std::int64_t{1} << sh;
  const std::int64_t cx0 = b.x0 >> sh, cx1 = ((b.x0 + b.w - 1) >> sh) + 1;
  const std::int64_t cy0 = b.y0 >> sh, cy1 = ((b.y0 + b.h - 1) >> sh) + 1;
  const auto nx = static_cast<std::size_t>(cx1 - cx0 + 1);
  s.controls.resize(nx * static_cast<std::size_t>(cy1 - cy0 + 1));
  s.ends.resize(nx);
  for (std::int64_t cy = cy0; cy <= cy1; ++cy) {
    for (std::int64_t cx = cx0; cx <= cx1; ++cx) {
      s.controls[static_cast<std::size_t>(cy - cy0) * nx + static_cast<std::size_t>(cx - cx0)] =
          control_at(cx << sh, cy << sh);
    }
  }
  for (std::size_t k = 0; k < s.rows.size(); ++k) s.rows[k].start(octaves_[kFirstPixelField + k], b.x0, b.w);
  OctaveRow& cyto_row = s.rows[kCyto - kFirstPixelField];
  OctaveRow& edge_c_row = s.rows[kEdgeC - kFirstPixelField];
  OctaveRow& edge_f_row = s.rows[kEdgeF - kFirstPixelField];

  const std::int64_t gx0 = b.x0 >> grid_shift_;
  const std::size_t gcols = static_cast<std::size_t>(((b.x0 + b.w - 1) >> grid_shift_) - gx0 + 2);
  s.field_col.resize(gcols);
  const std::int64_t gmask = (std::int64_t{1} << grid_shift_) - 1;

  // Raw pointers in locals: the byte stores below may alias anything, which would reload vector internals.
  std::uint16_t* const hem_out = s.hem.data();
  std::uint16_t* const eos_out = s.eos.data();
  std::uint8_t* const cover_out = s.cover.data();
  std::int64_t* const field_col = s.field_col.data();
  Control* const ends = s.ends.data();
  const std::int32_t* const profile = fibre_profile_.data();
  constexpr std::int64_t kProfileMask = kProfileCells * kProfileSub - 1;
  const std::int64_t reach = edge_reach_, amp_c = edge_amp_coarse_, amp_f = edge_amp_fine_;

  for (int r = 0; r < b.h; ++r) {
    const std::int64_t y = b.y0 + r;
    for (auto& row : s.rows) row.set_row(y);
    if (!all_tissue) {
      const std::int64_t gy = y >> grid_shift_, fy = ((y & gmask) << 12) >> grid_shift_;
      const std::int32_t* top = field_.data() + gy * grid_w_ + gx0;
      const std::int32_t* bottom = top + grid_w_;
      for (std::size_t k = 0; k < gcols; ++k) field_col[k] = lerp12(std::int64_t{top[k]}, std::int64_t{bottom[k]}, fy);
    }
    {
      const Control* top = s.controls.data() + static_cast<std::size_t>((y >> sh) - cy0) * nx;
      const Control* bottom = top + nx;
      const int fy = static_cast<int>(y & (span - 1));
      const auto blend = [&](int a, int c) { return a + (((c - a) * fy) >> sh); };
      for (std::size_t k = 0; k < nx; ++k) {
        const Control& t = top[k];
        const Control& u = bottom[k];
        ends[k] = Control{blend(t.eos, u.eos),
                          blend(t.hem, u.hem),
                          blend(t.fibre, u.fibre),
                          blend(t.cleft, u.cleft),
                          blend(t.epi, u.epi),
                          blend(t.fam, u.fam),
                          false,
                          t.sa + (((u.sa - t.sa) * fy) >> sh),
                          t.sb + (((u.sb - t.sb) * fy) >> sh)};
      }
    }
    const std::size_t row_index = static_cast<std::size_t>(r) * static_cast<std::size_t>(b.w);
    std::uint16_t* const hem_row = hem_out + row_index;
    std::uint16_t* const eos_row = eos_out + row_index;
    std::uint8_t* const cover_row = cover_out + row_index;

    // Coverage first: 0 on glass, ramping up over the anti-aliased outline.
    if (all_tissue) {
      std::memset(cover_row, 255, static_cast<std::size_t>(b.w));
    } else {
      for (int c = 0; c < b.w; ++c) {
        const std::int64_t x = b.x0 + c;
        const auto g = static_cast<std::size_t>((x >> grid_shift_) - gx0);
        std::int64_t f = lerp12(field_col[g], field_col[g + 1], ((x & gmask) << 12) >> grid_shift_);
        if (f > -reach && f <= reach) {
          f += ((edge_c_row.at(x) * amp_c) >> 12) + ((edge_f_row.at(x) * amp_f) >> 12);
        }
        cover_row[c] = static_cast<std::uint8_t>(f <= 0 ? 0 : f < 24 ? f * 255 / 24 : 255);
        if (f <= 0) {
          hem_row[c] = 0;
          eos_row[c] = 0;
        }
      }
    }

    // Then the stain, span by span. The smooth quantities advance by exact integer steps: value = acc >> sh
    // equals c0 + ((c1 - c0) * t >> sh), a function of the absolute position only.
    for (std::size_t k = 0; k + 1 < nx; ++k) {
      const std::int64_t xs = (cx0 + static_cast<std::int64_t>(k)) << sh;
      const std::int64_t from = std::max(xs, b.x0), to = std::min(xs + span, b.x0 + b.w);
      const Control& c0 = ends[k];
      const Control& c1 = ends[k + 1];
      const int t0 = static_cast<int>(from - xs);
      const auto run = [&](auto family, auto granular) {
        constexpr int kFamily = decltype(family)::value;  // 0: A only, 1: B only, 2: both, blended
        const int d_eos = c1.eos - c0.eos, d_hem = c1.hem - c0.hem, d_fibre = c1.fibre - c0.fibre;
        const int d_cleft = c1.cleft - c0.cleft, d_epi = c1.epi - c0.epi, d_fam = c1.fam - c0.fam;
        const std::int64_t d_sa = c1.sa - c0.sa, d_sb = c1.sb - c0.sb;
        int eos_acc = (c0.eos << sh) + d_eos * t0, hem_acc = (c0.hem << sh) + d_hem * t0;
        int fibre_acc = (c0.fibre << sh) + d_fibre * t0, cleft_acc = (c0.cleft << sh) + d_cleft * t0;
        int epi_acc = (c0.epi << sh) + d_epi * t0, fam_acc = (c0.fam << sh) + d_fam * t0;
        std::int64_t sa_acc = (c0.sa << sh) + d_sa * t0, sb_acc = (c0.sb << sh) + d_sb * t0;
        for (std::int64_t x = from; x < to; ++x) {
          const auto c = static_cast<std::size_t>(x - b.x0);
          if (cover_row[c] != 0) {
            int density, cleft;
            if constexpr (kFamily == 2) {
              const int fam = fam_acc >> sh;
              const std::int32_t pa = profile[((sa_acc >> sh) >> 12) & kProfileMask];
              const std::int32_t pb = profile[((sb_acc >> sh) >> 12) & kProfileMask];
              density = (static_cast<std::int16_t>(pa & 0xFFFF) * fam +
                         static_cast<std::int16_t>(pb & 0xFFFF) * (4096 - fam)) >>
                        12;
              cleft = ((pa >> 16) * fam + (pb >> 16) * (4096 - fam)) >> 12;
            } else {
              const std::int64_t sc = kFamily == 0 ? sa_acc : sb_acc;
              const std::int32_t p = profile[((sc >> sh) >> 12) & kProfileMask];
              density = static_cast<std::int16_t>(p & 0xFFFF);
              cleft = p >> 16;
            }
            int eos = (eos_acc >> sh) + (((fibre_acc >> sh) * density) >> 12) - (((cleft_acc >> sh) * cleft) >> 12);
            int hem = hem_acc >> sh;
            if constexpr (decltype(granular)::value) {
              const int grain = cyto_row.at(x) * (epi_acc >> sh);  // granular epithelial cytoplasm
              eos += grain >> 19;
              hem += grain >> 20;
            }
            hem_row[c] = static_cast<std::uint16_t>(std::max(hem, 0));
            eos_row[c] = static_cast<std::uint16_t>(std::max(eos, 0));
          }
          eos_acc += d_eos;
          hem_acc += d_hem;
          fibre_acc += d_fibre;
          cleft_acc += d_cleft;
          epi_acc += d_epi;
          fam_acc += d_fam;
          sa_acc += d_sa;
          sb_acc += d_sb;
        }
      };
      const bool granular = c0.epi > 0 || c1.epi > 0;
      const auto with_family = [&](auto family) {
        if (granular) {
          run(family, std::true_type{});
        } else {
          run(family, std::false_type{});
        }
      };
      if (c0.fam == 4096 && c1.fam == 4096) {
        with_family(std::integral_constant<int, 0>{});
      } else if (c0.fam == 0 && c1.fam == 0) {
        with_family(std::integral_constant<int, 1>{});
      } else {
        with_family(std::integral_constant<int, 2>{});
      }
    }
  }
}

// Lumina whose reach could touch this block (including their rings of nuclei).
void SyntheticTissueModel::collect_lumina(const Block& b, Scratch& s) const {
  s.lumina.clear();
  const double cell = kLumenCellUm * px_per_um_;
  const double reach = (kLumenReachUm + kNucleusReachUm) * px_per_um_;
  const auto lo = [&](std::int64_t v) {
    return static_cast<std::int64_t>(std::floor((static_cast<double>(v) - reach) / cell)) - 1;
  };
  const auto hi = [&](std::int64_t v) {
    return static_cast<std::int64_t>(std::floor((static_cast<double>(v) + reach) / cell)) + 1;
  };
  const std::uint64_t key = lumina_key_;
  for (std::int64_t j = lo(b.y0); j <= hi(b.y0 + b.h); ++j) {
    for (std::int64_t i = lo(b.x0); i <= hi(b.x0 + b.w); ++i) {
      Draws d(hash2(key, i, j));
      const double um = px_per_um_;
      const double cx = (static_cast<double>(i) + d.uniform(0.15, 0.85)) * cell;
      const double cy = (static_cast<double>(j) + d.uniform(0.15, 0.85)) * cell;
      const double roll = d.next();
      const auto px = std::llround(cx), py = std::llround(cy);
      if (fat_noise(px, py) > fat_at_) continue;  // fat lobules have no glands or vessels of this size
      const Region region = region_at(px, py);
      Lumen l;
      l.gland = region.epi > 2048;
      const double p = l.gland ? 0.6 : (region.lymph > 1024 ? 0.03 : 0.22);
      if (roll >= p) continue;
      const double ra = (l.gland ? d.uniform(8.0, 22.0) : d.uniform(5.0, 17.0)) * um;
      const double rb = ra * d.uniform(0.55, 0.95);
      const double angle = d.uniform(0.0, std::numbers::pi);
      l.cx = cx;
      l.cy = cy;
      l.ra = ra;
      l.rb = rb;
      l.angle = angle;
      l.parts[0] = Ellipse::make(cx, cy, ra, rb, angle, 1.3);
      const double clearance = (l.gland ? 12.0 : 2.0) * um;
      l.exclusion[0] = Ellipse::make(cx, cy, ra + clearance, rb + clearance, angle, 1.0);
      if (d.chance(l.gland ? 0.45 : 0.2)) {
        const double t = d.uniform(0.0, 2.0 * std::numbers::pi);
        const double lx = cx + std::cos(t) * ra * 0.75, ly = cy + std::sin(t) * rb * 0.75;
        const double la = ra * d.uniform(0.45, 0.7), lb = la * d.uniform(0.6, 1.0);
        const double lang = d.uniform(0.0, std::numbers::pi);
        l.parts[1] = Ellipse::make(lx, ly, la, lb, lang, 1.3);
        l.exclusion[1] = Ellipse::make(lx, ly, la + clearance, lb + clearance, lang, 1.0);
        l.part_count = 2;
      }
      l.content_eos = l.gland ? (d.chance(0.35) ? 150 : 30) : 40;
      l.ring_key = hash2(key ^ 0x5bd1e995ull, i, j);
      if (l.gland) {
        l.ring_count =
            std::clamp(static_cast<int>(std::lround(std::numbers::pi * (ra + rb + 10.0 * um) / (3.6 * um))), 10, 80);
      } else if (d.chance(0.5)) {
        l.ring_count = 1 + static_cast<int>(d.next() * 3.0);  // a capillary: a few flat endothelial nuclei
        if (d.chance(0.7)) {
          const double room = std::numbers::pi * ra * rb / (um * um) / 60.0;  // ~60 um^2 each at most
          l.red_cells = 1 + static_cast<int>(d.next() * std::min(12.0, room));
        }
      }
      s.lumina.push_back(l);
    }
  }
}

// Lumina and vacuoles: nearly clear, with a slightly denser rim where tissue was compressed around them.
void SyntheticTissueModel::draw_lumina(const Block& b, Scratch& s) const {
  for (const Lumen& l : s.lumina) {
    for (int p = 0; p < l.part_count; ++p) {
      for_each_pixel(l.parts[static_cast<std::size_t>(p)], b.x0, b.y0, b.w, b.h,
                     [&](std::size_t i, std::int64_t, std::int64_t, std::int64_t r2) {
                       if (r2 >= 65536 && r2 < 90000 && s.cover[i] != 0) {
                         s.eos[i] = static_cast<std::uint16_t>(s.eos[i] + ((90000 - r2) >> 8));
                       }
                     });
    }
  }
  for (const Lumen& l : s.lumina) {
    for (int p = 0; p < l.part_count; ++p) {
      const Ellipse& e = l.parts[static_cast<std::size_t>(p)];
      for_each_pixel(e, b.x0, b.y0, b.w, b.h, [&](std::size_t i, std::int64_t, std::int64_t, std::int64_t r2) {
        if (r2 >= 65536 || s.cover[i] == 0) return;
        const int alpha = static_cast<int>(std::min<std::int64_t>(256, ((65536 - r2) * e.edge_gain) >> 16));
        s.eos[i] = static_cast<std::uint16_t>(s.eos[i] + (((l.content_eos - s.eos[i]) * alpha) >> 8));
        s.hem[i] = static_cast<std::uint16_t>(s.hem[i] - ((s.hem[i] * alpha) >> 8));
      });
    }
    // Erythrocytes: small deep-red discs with a paler centre, scattered in the vessel's lumen.
    const double c = std::cos(l.angle), sn = std::sin(l.angle);
    for (int k = 0; k < l.red_cells; ++k) {
      Draws d(hash2(l.ring_key, k, 1));
      const double rho = std::sqrt(d.next()) * 0.7, t = d.uniform(0.0, 2.0 * std::numbers::pi);
      const double lx = l.ra * rho * std::cos(t), ly = l.rb * rho * std::sin(t);
      const double r = d.uniform(3.3, 3.9) * px_per_um_;
      const Ellipse cell = Ellipse::make(l.cx + lx * c - ly * sn, l.cy + lx * sn + ly * c, r, r * d.uniform(0.8, 1.0),
                                         d.uniform(0.0, std::numbers::pi), 1.0);
      for_each_pixel(cell, b.x0, b.y0, b.w, b.h, [&](std::size_t i, std::int64_t, std::int64_t, std::int64_t r2) {
        if (r2 >= 65536 || s.cover[i] == 0) return;
        const int alpha = static_cast<int>(std::min<std::int64_t>(256, ((65536 - r2) * cell.edge_gain) >> 16));
        const int eos = r2 < 18000 ? 1150 : 1550;
        s.eos[i] = static_cast<std::uint16_t>(s.eos[i] + (((eos - s.eos[i]) * alpha) >> 8));
        s.hem[i] = static_cast<std::uint16_t>(s.hem[i] - ((s.hem[i] * alpha) >> 8));
      });
    }
  }
}

FatSeed SyntheticTissueModel::fat_seed(std::int64_t i, std::int64_t j) const {
  const std::uint64_t h = hash2(fat_seed_key_, i, j);
  const std::int64_t c = fat_cell_px_;
  FatSeed seed;
  seed.x = i * c + c / 8 + ((static_cast<std::int64_t>(h & 0xFFFF) * (c * 3 / 4)) >> 16);
  seed.y = j * c + c / 8 + ((static_cast<std::int64_t>((h >> 16) & 0xFFFF) * (c * 3 / 4)) >> 16);
  seed.fat = fat_noise(seed.x, seed.y) > fat_at_;
  return seed;
}

bool SyntheticTissueModel::in_adipocyte(std::int64_t x, std::int64_t y) const {
  if (fat_noise(x, y) <= fat_zone_at_) return false;
  const std::int64_t ci = x / fat_cell_px_, cj = y / fat_cell_px_;
  std::int64_t best = std::numeric_limits<std::int64_t>::max();
  bool fat = false;
  for (std::int64_t j = cj - 1; j <= cj + 1; ++j) {
    for (std::int64_t i = ci - 1; i <= ci + 1; ++i) {
      const FatSeed seed = fat_seed(i, j);
      const std::int64_t d = (x - seed.x) * (x - seed.x) + (y - seed.y) * (y - seed.y);
      if (d < best) {
        best = d;
        fat = seed.fat;
      }
    }
  }
  return fat;
}

// Adipose lobules: Voronoi cells of the fat seeds become clear fat cells, their borders thin pink septa.
// Only spans whose control points say fat may be near pay for the nearest-seed search.
void SyntheticTissueModel::draw_fat(const Block& b, Scratch& s) const {
  if (std::none_of(s.controls.begin(), s.controls.end(), [](const Control& c) { return c.fat_zone; })) return;
  const std::int64_t c = fat_cell_px_;
  const std::int64_t i0 = b.x0 / c - 1, i1 = (b.x0 + b.w - 1) / c + 1;
  const std::int64_t j0 = b.y0 / c - 1, j1 = (b.y0 + b.h - 1) / c + 1;
  const auto ni = static_cast<std::size_t>(i1 - i0 + 1);
  s.fat_seeds.resize(ni * static_cast<std::size_t>(j1 - j0 + 1));
  bool any_fat = false;
  for (std::int64_t j = j0; j <= j1; ++j) {
    for (std::int64_t i = i0; i <= i1; ++i) {
      const FatSeed seed = fat_seed(i, j);
      any_fat = any_fat || seed.fat;
      s.fat_seeds[static_cast<std::size_t>(j - j0) * ni + static_cast<std::size_t>(i - i0)] = seed;
    }
  }
  if (!any_fat) return;
  const int sh = span_shift_;
  const std::int64_t cx0 = b.x0 >> sh, cy0 = b.y0 >> sh;
  const auto nx = static_cast<std::size_t>(((b.x0 + b.w - 1) >> sh) + 1 - cx0 + 1);
  const float half = static_cast<float>(std::max(0.75, 0.6 * px_per_um_));  // septum half-thickness, px

  // The 3x3 candidate seeds around one fat cell along one row, relative to the cell's corner (fits 32 bits),
  // pruned to those that can be nearest or second nearest somewhere along the row's stretch of that cell.
  struct Candidate {
    std::int32_t x = 0, dyy = 0;
    const FatSeed* seed = nullptr;
  };
  std::array<Candidate, 9> all{}, cand{};
  for (int r = 0; r < b.h; ++r) {
    const std::int64_t y = b.y0 + r;
    const std::int64_t cj = y / c;
    const Control* top = s.controls.data() + static_cast<std::size_t>((y >> sh) - cy0) * nx;
    const Control* bottom = top + nx;
    for (std::int64_t ci = b.x0 / c; ci * c < b.x0 + b.w; ++ci) {
      const std::int64_t from = std::max(b.x0, ci * c), to = std::min(b.x0 + b.w, (ci + 1) * c);
      const auto rf = static_cast<std::int32_t>(from - ci * c), rt = static_cast<std::int32_t>(to - 1 - ci * c);
      std::array<std::int32_t, 9> nearest{}, farthest{};
      std::size_t n = 0;
      for (std::int64_t j = cj - 1; j <= cj + 1; ++j) {
        const FatSeed* row = s.fat_seeds.data() + static_cast<std::size_t>(j - j0) * ni;
        for (std::int64_t i = ci - 1; i <= ci + 1; ++i, ++n) {
          const FatSeed& seed = row[i - i0];
          const auto sx = static_cast<std::int32_t>(seed.x - ci * c);
          const auto dyy = static_cast<std::int32_t>((y - seed.y) * (y - seed.y));
          all[n] = {sx, dyy, &seed};
          const std::int32_t near_dx = sx < rf ? rf - sx : sx > rt ? sx - rt : 0;
          const std::int32_t far_dx = std::max(std::abs(rf - sx), std::abs(rt - sx));
          nearest[n] = near_dx * near_dx + dyy;
          farthest[n] = far_dx * far_dx + dyy;
        }
      }
      std::array<std::int32_t, 9> sorted = farthest;
      std::nth_element(sorted.begin(), sorted.begin() + 1, sorted.end());
      const std::int32_t second_farthest = sorted[1];  // two seeds are always at least this close
      std::size_t kept = 0;
      bool any = false;
      for (std::size_t k = 0; k < all.size(); ++k) {
        if (nearest[k] > second_farthest) continue;
        cand[kept++] = all[k];
        any = any || all[k].seed->fat;
      }
      if (!any) continue;  // no adipocyte can reach this stretch
      for (std::int64_t x = from; x < to; ++x) {
        const auto k = static_cast<std::size_t>((x >> sh) - cx0);
        if (!(top[k].fat_zone || top[k + 1].fat_zone || bottom[k].fat_zone || bottom[k + 1].fat_zone)) continue;
        const std::size_t index =
            static_cast<std::size_t>(r) * static_cast<std::size_t>(b.w) + static_cast<std::size_t>(x - b.x0);
        if (s.cover[index] == 0) continue;
        const auto rx = static_cast<std::int32_t>(x - ci * c);
        std::int32_t d1 = std::numeric_limits<std::int32_t>::max(), d2 = d1;
        std::size_t n1 = 0, n2 = 0;
        for (std::size_t q = 0; q < kept; ++q) {
          const std::int32_t dx = rx - cand[q].x;
          const std::int32_t d = dx * dx + cand[q].dyy;
          if (d < d1) {
            d2 = d1;
            n2 = n1;
            d1 = d;
            n1 = q;
          } else if (d < d2) {
            d2 = d;
            n2 = q;
          }
        }
        const FatSeed& s1 = *cand[n1].seed;
        if (!s1.fat) continue;
        // Distance to the bisector of the two nearest seeds: the septum runs along it.
        const FatSeed& s2 = *cand[n2].seed;
        const std::int64_t gx = s2.x - s1.x, gy = s2.y - s1.y;
        const float dist = static_cast<float>(d2 - d1) / (2.0f * std::sqrt(static_cast<float>(gx * gx + gy * gy)));
        if (dist <= half) continue;  // septum: the stroma stain stays
        const int alpha = dist >= half + 1.0f ? 256 : static_cast<int>((dist - half) * 256.0f);
        s.eos[index] = static_cast<std::uint16_t>(s.eos[index] + (((6 - s.eos[index]) * alpha) >> 8));
        s.hem[index] = static_cast<std::uint16_t>(s.hem[index] - ((s.hem[index] * alpha) >> 8));
      }
    }
  }
}

Nucleus SyntheticTissueModel::make_nucleus(NucleusKind kind, double cx, double cy, double angle, Draws& d) const {
  const double um = px_per_um_;
  Nucleus n;
  double ra = 0, rb = 0;
  double hem = 0, rim = 0, chromatin = 0, wobble = 0, nucleolus = 0;
  switch (kind) {
    case NucleusKind::kLymphocyte:  // small, round, dense
      ra = d.uniform(2.6, 3.5);
      rb = ra * d.uniform(0.85, 1.0);
      hem = d.uniform(1.75, 2.1);
      rim = 0.15;
      chromatin = 0.3;
      wobble = 0.05;
      break;
    case NucleusKind::kTumour:  // large, pleomorphic, vesicular, often a nucleolus; a few giant or dark ones
      ra = d.chance(0.06) ? d.uniform(6.5, 8.5) : d.uniform(3.8, 6.3);
      rb = ra * d.uniform(0.6, 0.92);
      hem = d.chance(0.15) ? d.uniform(1.3, 1.6) : d.uniform(0.8, 1.15);
      rim = 0.75;
      chromatin = 0.4;
      wobble = 0.06;
      nucleolus = d.chance(0.6) ? d.uniform(0.5, 0.85) : 0.0;
      break;
    case NucleusKind::kFibroblast:  // spindle along the fibres
      ra = d.uniform(4.5, 7.5);
      rb = d.uniform(1.0, 1.6);
      hem = d.uniform(1.4, 1.8);
      rim = 0.1;
      chromatin = 0.25;
      wobble = 0.12;
      break;
    case NucleusKind::kGlandular:  // columnar, perpendicular to the lumen
      ra = d.uniform(3.8, 5.2);
      rb = d.uniform(2.0, 2.6);
      hem = d.uniform(1.2, 1.55);
      rim = 0.35;
      chromatin = 0.4;
      wobble = 0.12;
      nucleolus = d.chance(0.25) ? d.uniform(0.4, 0.6) : 0.0;
      break;
    case NucleusKind::kEndothelial:  // flat, hugging a vessel
      ra = d.uniform(3.5, 5.0);
      rb = d.uniform(0.9, 1.3);
      hem = d.uniform(1.5, 1.8);
      rim = 0.1;
      chromatin = 0.2;
      wobble = 0.1;
      break;
  }
  // The box only needs to hold the outline's outward lumps: radius² up to 1 + wobble.
  n.shape = Ellipse::make(cx, cy, ra * um, rb * um, angle, std::sqrt(1.0 + wobble));
  n.hem = static_cast<int>(hem * 1024);
  n.rim = std::llround(rim * 1024.0 * 65536.0 / (65536.0 - 36000.0));
  n.chromatin = static_cast<int>(chromatin * 1024);
  n.wobble = std::llround(wobble * 65536.0 / 128.0);
  n.r2_limit = 65536 + 128 * n.wobble;
  const std::uint64_t t = mix64(static_cast<std::uint64_t>(n.shape.cx) * 31 + static_cast<std::uint64_t>(n.shape.cy));
  n.tex_dx = static_cast<std::int64_t>(t & 255);
  n.tex_dy = static_cast<std::int64_t>((t >> 8) & 255);
  if (nucleolus > 0) {
    n.has_nucleolus = true;
    const double off = d.uniform(0.0, 0.4) * rb * um, t2 = d.uniform(0.0, 2.0 * std::numbers::pi);
    n.ncx = std::llround((cx + std::cos(t2) * off) * 256.0);
    n.ncy = std::llround((cy + std::sin(t2) * off) * 256.0);
    n.nr2 = std::llround(nucleolus * um * nucleolus * um * 65536.0);
    n.nucleolus_hem = 700;
  }
  return n;
}

void SyntheticTissueModel::draw_nucleus(const Nucleus& n, const Block& b, Scratch& s) const {
  for_each_pixel(n.shape, b.x0, b.y0, b.w, b.h, [&](std::size_t i, std::int64_t x, std::int64_t y, std::int64_t r2) {
    if (r2 >= n.r2_limit || s.cover[i] == 0) return;
    const int t = chromatin_[static_cast<std::size_t>((((y + n.tex_dy) & 255) << 8) | ((x + n.tex_dx) & 255))] - 128;
    const std::int64_t r2e = r2 + t * n.wobble;
    if (r2e >= 65536) return;
    const int alpha = static_cast<int>(std::min<std::int64_t>(256, ((65536 - r2e) * n.shape.edge_gain) >> 16));
    int hem = n.hem + ((n.chromatin * t) >> 7);
    if (r2e > 36000) hem += static_cast<int>((n.rim * (r2e - 36000)) >> 16);  // darker towards the membrane
    if (n.has_nucleolus) {
      const std::int64_t dx = (x << 8) + 128 - n.ncx, dy = (y << 8) + 128 - n.ncy;
      if (dx * dx + dy * dy < n.nr2) hem += n.nucleolus_hem;
    }
    const int cur = s.hem[i];
    if (hem > cur) s.hem[i] = static_cast<std::uint16_t>(cur + (((hem - cur) * alpha) >> 8));
    s.eos[i] = static_cast<std::uint16_t>(s.eos[i] - ((s.eos[i] * alpha * 5) >> 12));
  });
}

// Nuclei: a jittered 9 um grid whose cells keep a nucleus with a region-dependent probability, plus the rings
// of epithelium around glands and endothelium around vessels. Each is drawn only over its own bounding box.
void SyntheticTissueModel::draw_nuclei(const Block& b, Scratch& s) const {
  const double um = px_per_um_;
  const double cell = kNucleusCellUm * um;
  const double reach = kNucleusReachUm * um;
  const auto overlaps = [&](const Ellipse& e) {
    return e.x1 > b.x0 && e.x0 < b.x0 + b.w && e.y1 > b.y0 && e.y0 < b.y0 + b.h;
  };
  const std::uint64_t key = nuclei_key_;
  const std::int64_t j0 = static_cast<std::int64_t>(std::floor((static_cast<double>(b.y0) - reach) / cell)) - 1;
  const std::int64_t j1 = static_cast<std::int64_t>(std::floor((static_cast<double>(b.y0 + b.h) + reach) / cell)) + 1;
  const std::int64_t i0 = static_cast<std::int64_t>(std::floor((static_cast<double>(b.x0) - reach) / cell)) - 1;
  const std::int64_t i1 = static_cast<std::int64_t>(std::floor((static_cast<double>(b.x0 + b.w) + reach) / cell)) + 1;
  for (std::int64_t j = j0; j <= j1; ++j) {
    for (std::int64_t i = i0; i <= i1; ++i) {
      Draws d(hash2(key, i, j));
      const double cx = (static_cast<double>(i) + d.uniform(0.1, 0.9)) * cell;
      const double cy = (static_cast<double>(j) + d.uniform(0.1, 0.9)) * cell;
      const double bx = std::ceil(cx - reach), by = std::ceil(cy - reach);
      if (cx + reach < static_cast<double>(b.x0) || bx >= static_cast<double>(b.x0 + b.w) ||
          cy + reach < static_cast<double>(b.y0) || by >= static_cast<double>(b.y0 + b.h)) {
        continue;
      }
      const std::int64_t px = std::llround(cx), py = std::llround(cy);
      const Region region = region_at(px, py);
      const double lymph = region.lymph / 4096.0, epi = region.epi / 4096.0;
      const double keep = lymph * 0.85 + (1 - lymph) * (epi * 0.55 + (1 - epi) * 0.17);
      if (d.next() >= keep) continue;
      const double u = d.next();
      NucleusKind kind = NucleusKind::kFibroblast;
      if (u < lymph) {
        kind = NucleusKind::kLymphocyte;
      } else if ((u - lymph) / (1 - lymph) < epi) {
        kind = NucleusKind::kTumour;
      } else if (d.chance(0.3)) {
        kind = NucleusKind::kLymphocyte;  // scattered inflammatory cells in stroma
      }
      // Keep lumina clear (and the room their epithelium needs).
      bool blocked = false;
      for (const Lumen& l : s.lumina) {
        for (int p = 0; p < l.part_count && !blocked; ++p)
          blocked = l.exclusion[static_cast<std::size_t>(p)].covers(px, py);
        if (blocked) break;
      }
      if (blocked || in_adipocyte(px, py)) continue;
      const double angle = kind == NucleusKind::kFibroblast ? fibre_angle_at(px, py) : d.uniform(0.0, std::numbers::pi);
      const Nucleus n = make_nucleus(kind, cx, cy, angle, d);
      if (overlaps(n.shape)) draw_nucleus(n, b, s);
    }
  }
  for (const Lumen& l : s.lumina) {
    if (l.ring_count == 0) continue;
    const double c = std::cos(l.angle), sn = std::sin(l.angle);
    for (int k = 0; k < l.ring_count; ++k) {
      Draws d(hash2(l.ring_key, k, 0));
      const double t = (k + d.uniform(-0.25, 0.25)) * 2.0 * std::numbers::pi / l.ring_count;
      // Point on the outline and its outward normal, in the lumen's frame then rotated.
      const double ox = l.ra * std::cos(t), oy = l.rb * std::sin(t);
      double nx = l.rb * std::cos(t), ny = l.ra * std::sin(t);
      const double len = std::hypot(nx, ny);
      nx /= len;
      ny /= len;
      const double gap = (l.gland ? d.uniform(4.0, 6.2) : 1.1) * px_per_um_;
      const double lx = ox + nx * gap, ly = oy + ny * gap;
      const double cx = l.cx + lx * c - ly * sn, cy = l.cy + lx * sn + ly * c;
      const double normal = std::atan2(nx * sn + ny * c, nx * c - ny * sn);
      if (l.part_count == 2 && l.parts[1].covers(std::llround(cx), std::llround(cy), 80000)) continue;
      const Nucleus n = l.gland ? make_nucleus(NucleusKind::kGlandular, cx, cy, normal, d)
                                : make_nucleus(NucleusKind::kEndothelial, cx, cy, normal + std::numbers::pi / 2, d);
      if (overlaps(n.shape)) draw_nucleus(n, b, s);
    }
  }
}

void SyntheticTissueModel::to_rgb(const Block& b, const Scratch& s) const {
  const std::uint16_t* const hem_in = s.hem.data();
  const std::uint16_t* const eos_in = s.eos.data();
  const std::uint8_t* const cover_in = s.cover.data();
  const std::uint32_t* const lut = stain_rgb_.data();
  const std::uint8_t* const grain = grain_.data();
  for (int r = 0; r < b.h; ++r) {
    std::uint8_t* out = b.rgb + static_cast<std::size_t>(r) * b.stride;
    const auto grain_row = static_cast<std::size_t>(((b.y0 + r + b.grain_dy) & 255) << 8);
    const std::uint8_t* glass = glass_rgb_.data() + grain_row * 3;
    std::size_t index = static_cast<std::size_t>(r) * static_cast<std::size_t>(b.w);
    for (int c = 0; c < b.w; ++c, ++index, out += 3) {
      const auto gx = static_cast<std::size_t>((b.x0 + c + b.grain_dx) & 255);
      const int cover = cover_in[index];
      if (cover == 0) {
        out[0] = glass[gx * 3];
        out[1] = glass[gx * 3 + 1];
        out[2] = glass[gx * 3 + 2];
        continue;
      }
      int hem = hem_in[index], eos = eos_in[index];
      if (cover != 255) {
        hem = (hem * (cover + 1)) >> 8;
        eos = (eos * (cover + 1)) >> 8;
      }
      const std::size_t cell =
          static_cast<std::size_t>(std::min(hem >> 4, 255) << 7) | static_cast<std::size_t>(std::min(eos >> 4, 127));
      const std::uint32_t v = lut[cell] + grain[grain_row | gx] * 0x010101u;
      out[0] = static_cast<std::uint8_t>(v);
      out[1] = static_cast<std::uint8_t>(v >> 8);
      out[2] = static_cast<std::uint8_t>(v >> 16);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

SyntheticTissue::SyntheticTissue(const SyntheticSlideSpec& spec)
    : model_(std::make_shared<const SyntheticTissueModel>(spec)) {}

const SyntheticSlideSpec& SyntheticTissue::spec() const { return model_->spec(); }

void SyntheticTissue::render(std::int64_t x, std::int64_t y, int w, int h, std::uint8_t* rgb,
                             std::size_t stride) const {
  if (w <= 0 || h <= 0) return;
  model_->render(x, y, w, h, rgb, stride);
}

bool SyntheticTissue::is_tissue(std::int64_t x, std::int64_t y) const { return model_->is_tissue(x, y); }

double SyntheticTissue::tissue_fraction() const { return model_->tissue_fraction(); }

}  // namespace reread
