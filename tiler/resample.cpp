// Resampling kernels. Lanczos follows Pillow's convolution (support scaled by the reduction factor,
// per-axis passes, 8-bit intermediate) so tiles agree with the reference renderer.
#include "resample.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace reread {

namespace {

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= std::numbers::pi;
  return std::sin(x) / x;
}

double lanczos3(double x) { return (x > -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

struct Kernel {
  std::vector<int> start;      // first source index per output pixel
  std::vector<int> count;      // taps per output pixel
  std::vector<float> weights;  // taps * out, row-major with stride `taps`
  int taps = 0;
};

Kernel make_kernel(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 3.0 * filterscale;
  Kernel k;
  k.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  k.start.resize(out_size);
  k.count.resize(out_size);
  k.weights.assign(static_cast<std::size_t>(out_size) * k.taps, 0.0f);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double total = 0.0;
    std::vector<double> w(xmax);
    for (int x = 0; x < xmax; ++x) {
      w[x] = lanczos3((x + xmin - center + 0.5) / filterscale);
      total += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      k.weights[static_cast<std::size_t>(i) * k.taps + x] = static_cast<float>(total != 0.0 ? w[x] / total : 0.0);
    }
    k.start[i] = xmin;
    k.count[i] = xmax;
  }
  return k;
}

std::uint8_t clamp8(float v) {
  // Round half up after clamping: the same as std::round on [0, 255], without a libm call per sample.
  return v <= 0.f ? 0 : (v >= 255.f ? 255 : static_cast<std::uint8_t>(v + 0.5f));
}

RgbImage resize_horizontal(const RgbImage& src, int width) {
  if (width == src.width) return src;
  const Kernel k = make_kernel(src.width, width);
  RgbImage out(width, src.height);
  for (int y = 0; y < src.height; ++y) {
    const std::uint8_t* in = src.row(y);
    std::uint8_t* o = out.row(y);
    for (int x = 0; x < width; ++x) {
      const float* w = &k.weights[static_cast<std::size_t>(x) * k.taps];
      float r = 0, g = 0, b = 0;
      const std::uint8_t* p = in + static_cast<std::size_t>(k.start[x]) * 3;
      for (int t = 0; t < k.count[x]; ++t, p += 3) {
        r += w[t] * p[0];
        g += w[t] * p[1];
        b += w[t] * p[2];
      }
      o[x * 3] = clamp8(r);
      o[x * 3 + 1] = clamp8(g);
      o[x * 3 + 2] = clamp8(b);
    }
  }
  return out;
}

RgbImage resize_vertical(const RgbImage& src, int height) {
  if (height == src.height) return src;
  const Kernel k = make_kernel(src.height, height);
  RgbImage out(src.width, height);
  const std::size_t n = src.stride();
  std::vector<float> acc(n);
  for (int y = 0; y < height; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    const float* w = &k.weights[static_cast<std::size_t>(y) * k.taps];
    for (int t = 0; t < k.count[y]; ++t) {
      const std::uint8_t* in = src.row(k.start[y] + t);
      for (std::size_t i = 0; i < n; ++i) acc[i] += w[t] * in[i];
    }
    std::uint8_t* o = out.row(y);
    for (std::size_t i = 0; i < n; ++i) o[i] = clamp8(acc[i]);
  }
  return out;
}

// Pillow's Image.reduce: the mean of each factor_x x factor_y block; edge blocks average what exists.
RgbImage reduce_box(const RgbImage& src, int fx, int fy) {
  const int w = (src.width + fx - 1) / fx;
  const int h = (src.height + fy - 1) / fy;
  RgbImage out(w, h);
  for (int y = 0; y < h; ++y) {
    const int y0 = y * fy, y1 = std::min(y0 + fy, src.height);
    for (int x = 0; x < w; ++x) {
      const int x0 = x * fx, x1 = std::min(x0 + fx, src.width);
      unsigned r = 0, g = 0, b = 0;
      for (int yy = y0; yy < y1; ++yy) {
        const std::uint8_t* p = src.row(yy) + static_cast<std::size_t>(x0) * 3;
        for (int xx = x0; xx < x1; ++xx, p += 3) {
          r += p[0];
          g += p[1];
          b += p[2];
        }
      }
      const unsigned n = static_cast<unsigned>((y1 - y0) * (x1 - x0));
      std::uint8_t* o = out.row(y) + static_cast<std::size_t>(x) * 3;
      o[0] = static_cast<std::uint8_t>((r + n / 2) / n);
      o[1] = static_cast<std::uint8_t>((g + n / 2) / n);
      o[2] = static_cast<std::uint8_t>((b + n / 2) / n);
    }
  }
  return out;
}

}  // namespace

RgbImage resize_lanczos(const RgbImage& src, int width, int height) {
  if (src.width == width && src.height == height) return src;
  // Pillow's reducing_gap=2.0: box-reduce by the integer factor that keeps at least 2x the target.
  const int fx = std::max(1, static_cast<int>(static_cast<double>(src.width) / width / 2.0));
  const int fy = std::max(1, static_cast<int>(static_cast<double>(src.height) / height / 2.0));
  if (fx > 1 || fy > 1) {
    const RgbImage reduced = reduce_box(src, fx, fy);
    return resize_vertical(resize_horizontal(reduced, width), height);
  }
  return resize_vertical(resize_horizontal(src, width), height);
}

void halve_row(const std::uint8_t* row0, const std::uint8_t* row1, int src_width, std::uint8_t* dst) {
  const int pairs = src_width / 2;
  if (row1 != nullptr) {
    for (int x = 0; x < pairs; ++x, row0 += 6, row1 += 6, dst += 3) {
      dst[0] = static_cast<std::uint8_t>((row0[0] + row0[3] + row1[0] + row1[3] + 2) >> 2);
      dst[1] = static_cast<std::uint8_t>((row0[1] + row0[4] + row1[1] + row1[4] + 2) >> 2);
      dst[2] = static_cast<std::uint8_t>((row0[2] + row0[5] + row1[2] + row1[5] + 2) >> 2);
    }
    if (src_width & 1) {
      dst[0] = static_cast<std::uint8_t>((row0[0] + row1[0] + 1) >> 1);
      dst[1] = static_cast<std::uint8_t>((row0[1] + row1[1] + 1) >> 1);
      dst[2] = static_cast<std::uint8_t>((row0[2] + row1[2] + 1) >> 1);
    }
  } else {
    for (int x = 0; x < pairs; ++x, row0 += 6, dst += 3) {
      dst[0] = static_cast<std::uint8_t>((row0[0] + row0[3] + 1) >> 1);
      dst[1] = static_cast<std::uint8_t>((row0[1] + row0[4] + 1) >> 1);
      dst[2] = static_cast<std::uint8_t>((row0[2] + row0[5] + 1) >> 1);
    }
    if (src_width & 1) {
      dst[0] = row0[0];
      dst[1] = row0[1];
      dst[2] = row0[2];
    }
  }
}

}  // namespace reread
