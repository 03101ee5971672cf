// IIIF Image API 3.0 request parsing (region, size, rotation, quality, format) and info.json.
// Every number from the URL goes through std::from_chars and checked arithmetic, so no input can overflow.
#include "iiif_image_request.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <system_error>

namespace reread::iiif {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
// Doubles at or above this cannot become an int64 safely; such sizes are rejected as too large.
constexpr double kDoubleIntLimit = 9.0e18;

struct Dim {
  std::int64_t w = 0, h = 0;
  bool operator==(const Dim&) const = default;
};

// Effective limits, 0 meaning none (see ImageInfo for how max_height depends on max_width).
struct Limits {
  std::int64_t w = 0, h = 0, area = 0;
  bool upscaling = false;
};

Limits limits_of(const ImageInfo& image) {
  Limits l;
  l.w = std::max<std::int64_t>(image.max_width, 0);
  l.h = l.w > 0 ? (image.max_height > 0 ? image.max_height : l.w) : 0;
  l.area = std::max<std::int64_t>(image.max_area, 0);
  l.upscaling = image.allow_upscaling && (l.w > 0 || l.area > 0);
  return l;
}

RequestError bad_request(std::string message) { return {400, std::move(message)}; }

// Pixel values are non-negative decimal integers (spec 4): no sign, space, exponent or hex.
std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;  // out of range
  return value;
}

// Percentages and rotation consist only of digits and one optional '.' (spec 4.7): no nan, inf, 1e3, +5.
std::optional<double> parse_decimal(std::string_view s) {
  int dots = 0, digits = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c >= '0' && c <= '9') {
      ++digits;
    } else {
      return std::nullopt;
    }
  }
  if (dots > 1 || digits == 0) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, std::chars_format::fixed);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto pos = s.find(sep);
    parts.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return parts;
    s.remove_prefix(pos + 1);
  }
}

bool consume_prefix(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {  // a, b >= 0
  if (b != 0 && a > kInt64Max / b) return std::nullopt;
  return a * b;
}

// round(a * b / c), halves up, for a, b >= 0 and c > 0; nullopt when a * b overflows.
std::optional<std::int64_t> mul_div_round(std::int64_t a, std::int64_t b, std::int64_t c) {
  const auto product = checked_mul(a, b);
  if (!product) return std::nullopt;
  std::int64_t q = *product / c;
  const std::int64_t r = *product % c;
  if (r >= c - r) ++q;  // 2r >= c without overflowing
  return q;
}

bool area_exceeds(std::int64_t w, std::int64_t h, std::int64_t area) {
  const auto a = checked_mul(w, h);
  return !a || *a > area;
}

// Nearest integer, halves up; only for finite or +inf non-negative values, which stay double so that the
// caller can compare before converting.
double round_half_up(double v) { return std::floor(v + 0.5); }

// The largest size with the aspect ratio of region r within width bw, height bh and area ba (0 = unbounded).
// A binding width or height is met exactly and the other side rounded, so !225,100 of 300x200 gives 150x100
// (spec 4.2 example).
std::optional<Dim> fit(Dim r, std::int64_t bw, std::int64_t bh, std::int64_t ba) {
  enum class By { none, width, height, area } by = By::none;
  double scale = std::numeric_limits<double>::infinity();
  if (bw > 0) {
    scale = static_cast<double>(bw) / static_cast<double>(r.w);
    by = By::width;
  }
  if (bh > 0) {
    const double s = static_cast<double>(bh) / static_cast<double>(r.h);
    if (s < scale) {
      scale = s;
      by = By::height;
    }
  }
  if (ba > 0) {
    const double s = std::sqrt(static_cast<double>(ba) / (static_cast<double>(r.w) * static_cast<double>(r.h)));
    if (s < scale) {
      scale = s;
      by = By::area;
    }
  }
  Dim out;
  switch (by) {
    case By::none:
      return r;
    case By::width: {
      if (bw == r.w) {  // unscaled: skip the product, which overflows for enormous images
        out = {r.w, bh > 0 ? std::min(r.h, bh) : r.h};
        break;
      }
      const auto h = mul_div_round(r.h, bw, r.w);
      if (!h) return std::nullopt;
      out = {bw, bh > 0 ? std::min(*h, bh) : *h};
      break;
    }
    case By::height: {
      if (bh == r.h) {
        out = {bw > 0 ? std::min(r.w, bw) : r.w, r.h};
        break;
      }
      const auto w = mul_div_round(r.w, bh, r.h);
      if (!w) return std::nullopt;
      out = {bw > 0 ? std::min(*w, bw) : *w, bh};
      break;
    }
    case By::area: {
      // The epsilon keeps an exact product such as 499.9999999 from flooring a pixel short; the area
      // check below undoes any overshoot it causes.
      const double w = std::floor(static_cast<double>(r.w) * scale + 1e-7);
      const double h = std::floor(static_cast<double>(r.h) * scale + 1e-7);
      if (!(w < kDoubleIntLimit && h < kDoubleIntLimit)) return std::nullopt;
      out = {static_cast<std::int64_t>(w), static_cast<std::int64_t>(h)};
      if (bw > 0) out.w = std::min(out.w, bw);
      if (bh > 0) out.h = std::min(out.h, bh);
      break;
    }
  }
  // Rounding the free side up can push the area just past the limit: give up the excess on that side.
  if (ba > 0 && out.w > 0 && out.h > 0 && area_exceeds(out.w, out.h, ba)) {
    if (by == By::height) {
      out.w = ba / out.h;
    } else {
      out.h = ba / out.w;
    }
  }
  return out;
}

// Spec 4.1. The region is clipped to the image; zero size or lying wholly outside is 400.
std::variant<ImageRequest, RequestError> resolve_region(std::string_view region, std::int64_t W, std::int64_t H) {
  ImageRequest req;
  if (region == "full") {
    req.w = W;
    req.h = H;
    req.full_region = true;
    return req;
  }
  if (region == "square") {
    const std::int64_t side = std::min(W, H);
    req.x = (W - side) / 2;  // centred in the longer dimension, as the spec suggests
    req.y = (H - side) / 2;
    req.w = req.h = side;
    req.full_region = W == H;
    return req;
  }
  if (consume_prefix(region, "pct:")) {
    const auto parts = split(region, ',');
    double v[4] = {};
    if (parts.size() != 4) return bad_request("region pct:x,y,w,h needs exactly four numbers");
    for (std::size_t i = 0; i < 4; ++i) {
      const auto p = parse_decimal(parts[i]);
      if (!p) return bad_request("region pct:x,y,w,h values must be non-negative decimal numbers");
      v[i] = *p;
    }
    if (v[2] == 0 || v[3] == 0) return bad_request("region has zero width or height");
    // Each value is rounded to the nearest pixel, so pct:41.6,7.5,40,70 of 300x200 is 125,15,120,140.
    const double Wd = static_cast<double>(W), Hd = static_cast<double>(H);
    const double x = round_half_up(v[0] * Wd / 100), y = round_half_up(v[1] * Hd / 100);
    const double w = round_half_up(v[2] * Wd / 100), h = round_half_up(v[3] * Hd / 100);
    if (w < 1 || h < 1) return bad_request("region is smaller than one pixel");
    if (x >= Wd || y >= Hd) return bad_request("region lies entirely outside the image");
    req.x = static_cast<std::int64_t>(x);
    req.y = static_cast<std::int64_t>(y);
    // Compared as doubles first: w may be far beyond int64.
    req.w = w >= static_cast<double>(W - req.x) ? W - req.x : static_cast<std::int64_t>(w);
    req.h = h >= static_cast<double>(H - req.y) ? H - req.y : static_cast<std::int64_t>(h);
  } else {
    const auto parts = split(region, ',');
    if (parts.size() != 4) return bad_request("region must be full, square, x,y,w,h or pct:x,y,w,h");
    std::int64_t v[4] = {};
    for (std::size_t i = 0; i < 4; ++i) {
      const auto p = parse_int(parts[i]);
      if (!p) return bad_request("region x,y,w,h values must be non-negative integers");
      v[i] = *p;
    }
    if (v[2] == 0 || v[3] == 0) return bad_request("region has zero width or height");
    if (v[0] >= W || v[1] >= H) return bad_request("region lies entirely outside the image");
    req.x = v[0];
    req.y = v[1];
    req.w = std::min(v[2], W - req.x);  // never x + w: that could overflow
    req.h = std::min(v[3], H - req.y);
  }
  req.full_region = req.x == 0 && req.y == 0 && req.w == W && req.h == H;
  return req;
}

struct SizeResult {
  Dim out;
  CanonicalSize canonical = CanonicalSize::exact;
};

std::string dims(Dim d) { return std::to_string(d.w) + "x" + std::to_string(d.h); }

// Bounds for "max" and "!w,h": without ^ the region itself is a bound, with ^ only the limits are.
std::optional<Dim> fit_max(Dim r, const Limits& l, bool up) {
  if (!up) return fit(r, l.w > 0 ? std::min(l.w, r.w) : r.w, l.h > 0 ? std::min(l.h, r.h) : r.h, l.area);
  if (l.w == 0 && l.h == 0 && l.area == 0) return r;  // nothing to grow towards
  return fit(r, l.w, l.h, l.area);
}

// Spec 4.2. r is the (clipped) region size.
std::variant<SizeResult, RequestError> resolve_size(std::string_view size, Dim r, const Limits& l) {
  const bool up = consume_prefix(size, "^");
  const RequestError too_large = bad_request("requested size is too large");

  // Spec 4.2: without ^ a size beyond the region is 400; with ^ but no upscaling here it is 501.
  const auto upscale_error = [&](bool needs_upscaling) -> std::optional<RequestError> {
    if (!needs_upscaling) return std::nullopt;
    if (!up) return bad_request("size is larger than the region; prefix it with ^ to upscale");
    if (!l.upscaling) return RequestError{501, "upscaling is not supported for this image"};
    return std::nullopt;
  };
  const auto width_limit_error = [&](std::int64_t w) -> std::optional<RequestError> {
    if (l.w > 0 && w > l.w) {
      return bad_request("requested width " + std::to_string(w) + " exceeds maxWidth " + std::to_string(l.w));
    }
    return std::nullopt;
  };
  const auto height_limit_error = [&](std::int64_t h) -> std::optional<RequestError> {
    if (l.h > 0 && h > l.h) {
      return bad_request("requested height " + std::to_string(h) + " exceeds maxHeight " + std::to_string(l.h));
    }
    return std::nullopt;
  };

  SizeResult res;
  if (size == "max") {
    const auto out = fit_max(r, l, up);
    if (!out) return too_large;
    if (auto e = upscale_error(out->w > r.w || out->h > r.h)) return *e;
    res.out = *out;
  } else if (consume_prefix(size, "pct:")) {
    const auto n = parse_decimal(size);
    if (!n) return bad_request("size pct:n needs a non-negative decimal number");
    if (auto e = upscale_error(*n > 100)) return *e;
    const double w = round_half_up(static_cast<double>(r.w) * *n / 100);
    const double h = round_half_up(static_cast<double>(r.h) * *n / 100);
    if (!(w < kDoubleIntLimit && h < kDoubleIntLimit)) return too_large;
    res.out = {static_cast<std::int64_t>(w), static_cast<std::int64_t>(h)};
  } else {
    const bool confined = consume_prefix(size, "!");
    const auto parts = split(size, ',');
    if (parts.size() != 2 || (parts[0].empty() && parts[1].empty()) ||
        (confined && (parts[0].empty() || parts[1].empty()))) {
      return bad_request("size must be max, w,, ,h, pct:n, w,h or !w,h, each optionally prefixed by ^");
    }
    const auto w = parts[0].empty() ? std::optional<std::int64_t>(0) : parse_int(parts[0]);
    const auto h = parts[1].empty() ? std::optional<std::int64_t>(0) : parse_int(parts[1]);
    if (!w || !h) return bad_request("size width and height must be non-negative integers");
    if ((!parts[0].empty() && *w == 0) || (!parts[1].empty() && *h == 0)) {
      return bad_request("size has zero width or height");
    }
    if (confined) {
      // As large as possible within w,h, the limits and, without ^, the region.
      std::int64_t bw = up ? *w : std::min(*w, r.w), bh = up ? *h : std::min(*h, r.h);
      if (l.w > 0) bw = std::min(bw, l.w);
      if (l.h > 0) bh = std::min(bh, l.h);
      const auto out = fit(r, bw, bh, l.area);
      if (!out) return too_large;
      if (auto e = upscale_error(out->w > r.w || out->h > r.h)) return *e;
      res.out = *out;
    } else {
      // Check the given sides before deriving the other, so the derivation cannot overflow.
      if (auto e = upscale_error(*w > r.w || *h > r.h)) return *e;
      if (auto e = width_limit_error(*w)) return *e;
      if (auto e = height_limit_error(*h)) return *e;
      res.out = {*w, *h};
      if (parts[1].empty()) {
        const auto derived = mul_div_round(r.h, *w, r.w);  // keep the region's aspect ratio
        if (!derived) return too_large;
        res.out.h = *derived;
      } else if (parts[0].empty()) {
        const auto derived = mul_div_round(r.w, *h, r.h);
        if (!derived) return too_large;
        res.out.w = *derived;
      }
    }
  }

  // Spec 4.2: for all requests, at least one pixel and within the server's limits.
  if (res.out.w < 1 || res.out.h < 1)
    return bad_request("requested size is less than one pixel (" + dims(res.out) + ")");
  if (auto e = width_limit_error(res.out.w)) return *e;
  if (auto e = height_limit_error(res.out.h)) return *e;
  if (l.area > 0 && area_exceeds(res.out.w, res.out.h, l.area)) {
    return bad_request("requested size " + dims(res.out) + " exceeds maxArea " + std::to_string(l.area));
  }
  // No rounding path above can grow a size past the region without ^; kept as a guard for the invariant.
  if (auto e = upscale_error(res.out.w > r.w || res.out.h > r.h)) return *e;

  if (fit_max(r, l, false) == res.out) {
    res.canonical = CanonicalSize::max;
  } else if (l.upscaling && (res.out.w > r.w || res.out.h > r.h) && fit_max(r, l, true) == res.out) {
    res.canonical = CanonicalSize::upscaled_max;
  }
  return res;
}

// Spec 4.3: an optional '!' (mirroring) and a number from 0 to 360. Only 0 is implemented.
std::optional<RequestError> check_rotation(std::string_view rotation) {
  const bool mirror = consume_prefix(rotation, "!");
  const auto degrees = parse_decimal(rotation);
  if (!degrees) return bad_request("rotation must be a number from 0 to 360, optionally prefixed by !");
  if (*degrees > 360) return bad_request("rotation must be between 0 and 360");
  if (mirror) return bad_request("mirroring is not supported; rotation must be 0");
  if (*degrees != 0) return bad_request("rotation is not supported; rotation must be 0");
  return std::nullopt;
}

}  // namespace

bool upscaling_supported(const ImageInfo& image) { return limits_of(image).upscaling; }

std::string_view extension(Format format) { return format == Format::png ? "png" : "jpg"; }

std::string_view media_type(Format format) { return format == Format::png ? "image/png" : "image/jpeg"; }

std::string ImageRequest::canonical() const {
  std::string s;
  if (full_region) {
    s = "full";
  } else {
    s = std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(w) + "," + std::to_string(h);
  }
  switch (canonical_size) {
    case CanonicalSize::max:
      s += "/max";
      break;
    case CanonicalSize::upscaled_max:
      s += "/^max";
      break;
    case CanonicalSize::exact:
      s += upscaled() ? "/^" : "/";
      s += std::to_string(out_w) + "," + std::to_string(out_h);
      break;
  }
  s += "/0/default.";
  s += extension(format);
  return s;
}

std::variant<ImageRequest, RequestError> parse_image_request(std::string_view region, std::string_view size,
                                                             std::string_view rotation,
                                                             std::string_view quality_dot_format,
                                                             const ImageInfo& image) {
  if (image.width <= 0 || image.height <= 0) return RequestError{500, "image has no pixels"};
  const Limits limits = limits_of(image);

  auto resolved = resolve_region(region, image.width, image.height);
  if (auto* e = std::get_if<RequestError>(&resolved)) return std::move(*e);
  ImageRequest req = std::get<ImageRequest>(resolved);

  auto sized = resolve_size(size, {req.w, req.h}, limits);
  if (auto* e = std::get_if<RequestError>(&sized)) return std::move(*e);
  const auto& s = std::get<SizeResult>(sized);
  req.out_w = s.out.w;
  req.out_h = s.out.h;
  req.canonical_size = s.canonical;

  if (auto e = check_rotation(rotation)) return std::move(*e);

  const auto dot = quality_dot_format.find('.');
  if (dot == std::string_view::npos) return bad_request("quality and format must be given as quality.format");
  const auto quality = quality_dot_format.substr(0, dot);
  const auto format = quality_dot_format.substr(dot + 1);

  // Spec 4.4: unsupported qualities are 400. color is the same image as default, because slides are RGB.
  if (quality == "gray" || quality == "bitonal") return bad_request("quality is not supported; use default or color");
  if (quality != "default" && quality != "color") return bad_request("unknown quality; use default or color");

  // Spec 4.5: unsupported formats are 400.
  if (format == "jpg") {
    req.format = Format::jpg;
  } else if (format == "png") {
    req.format = Format::png;
  } else if (format == "tif" || format == "gif" || format == "pdf" || format == "jp2" || format == "webp") {
    return bad_request("format is not supported; use jpg or png");
  } else {
    return bad_request("unknown format; use jpg or png");
  }
  return req;
}

nlohmann::json info_json(const std::string& id, const ImageInfo& image) {
  const Limits l = limits_of(image);
  std::string base = id;
  while (!base.empty() && base.back() == '/') base.pop_back();  // spec 5.2: no trailing slash

  nlohmann::json j;
  j["@context"] = "http://iiif.io/api/image/3/context.json";
  j["id"] = base;
  j["type"] = "ImageService3";
  j["protocol"] = "http://iiif.io/api/image";
  j["profile"] = "level1";
  j["width"] = image.width;
  j["height"] = image.height;
  if (l.w > 0) j["maxWidth"] = l.w;
  if (l.w > 0 && image.max_height > 0) j["maxHeight"] = image.max_height;  // spec 5.2: only with maxWidth
  if (l.area > 0) j["maxArea"] = l.area;

  std::vector<int> factors;
  for (int f : image.scale_factors) {
    if (f > 0) factors.push_back(f);
  }
  if (image.tile_width > 0 && image.tile_height > 0 && !factors.empty()) {
    const nlohmann::json tile = {{"width", image.tile_width}, {"height", image.tile_height}, {"scaleFactors", factors}};
    j["tiles"] = nlohmann::json::array({tile});
  }

  // Spec 5.3 requires listed sizes to be servable as full/w,h: inside the image (no ^) and within the limits.
  nlohmann::json sizes = nlohmann::json::array();
  for (const auto& [w, h] : image.sizes) {
    const bool fits = w > 0 && h > 0 && w <= image.width && h <= image.height && (l.w == 0 || w <= l.w) &&
                      (l.h == 0 || h <= l.h) && (l.area == 0 || !area_exceeds(w, h, l.area));
    if (fits) sizes.push_back(nlohmann::json{{"width", w}, {"height", h}});
  }
  if (!sizes.empty()) j["sizes"] = std::move(sizes);

  j["extraFormats"] = nlohmann::json::array({"png"});
  j["extraQualities"] = nlohmann::json::array({"color"});
  // Level 1 already covers regionByPx, regionSquare, sizeByW and sizeByH; these are the level-2 extras.
  auto features = nlohmann::json::array({"regionByPct", "sizeByConfinedWh", "sizeByPct", "sizeByWh"});
  if (l.upscaling) features.push_back("sizeUpscaling");
  j["extraFeatures"] = std::move(features);
  return j;
}

}  // namespace reread::iiif
