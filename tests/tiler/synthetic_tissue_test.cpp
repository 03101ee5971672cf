// Tests of the synthetic H&E slide (determinism, seamless tiling, look) and of its label and macro images.
#include "synthetic_tissue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "slide_label.h"

namespace reread {
namespace {

RgbImage render_region(const SyntheticTissue& tissue, std::int64_t x, std::int64_t y, int w, int h) {
  RgbImage image(w, h);
  tissue.render(x, y, w, h, image.pixels.data(), image.stride());
  return image;
}

// Top-left corner of a size x size window that is tissue at every point of a 16-pixel grid.
std::optional<std::pair<std::int64_t, std::int64_t>> tissue_window(const SyntheticTissue& tissue, int size) {
  const SyntheticSlideSpec& spec = tissue.spec();
  for (std::int64_t y = 0; y + size <= spec.height; y += size / 4) {
    for (std::int64_t x = 0; x + size <= spec.width; x += size / 4) {
      bool all = true;
      for (std::int64_t v = y; v < y + size && all; v += 16) {
        for (std::int64_t u = x; u < x + size && all; u += 16) all = tissue.is_tissue(u, v);
      }
      if (all) return std::pair{x, y};
    }
  }
  return std::nullopt;
}

// A window straddling the tissue outline: both glass and tissue among its grid points.
std::pair<std::int64_t, std::int64_t> edge_window(const SyntheticTissue& tissue, int size) {
  const SyntheticSlideSpec& spec = tissue.spec();
  for (std::int64_t y = 0; y + size <= spec.height; y += size / 2) {
    for (std::int64_t x = 0; x + size <= spec.width; x += size / 2) {
      int inside = 0, total = 0;
      for (std::int64_t v = y; v < y + size; v += 32) {
        for (std::int64_t u = x; u < x + size; u += 32, ++total) inside += tissue.is_tissue(u, v) ? 1 : 0;
      }
      if (inside > total / 4 && inside < total * 3 / 4) return {x, y};
    }
  }
  return {0, 0};
}

bool is_nuclear(const std::uint8_t* p) {  // hematoxylin-dominated: dark and blue-purple
  return p[0] < 175 && p[1] < 140 && p[2] > p[0];
}

struct BlobStats {
  int blobs = 0;         // 4-connected nuclear-pixel blobs of at least min_area pixels
  double mean_area = 0;  // pixels per blob
  double nuclear_fraction = 0;
};

BlobStats nuclear_blobs(const RgbImage& image, int min_area) {
  std::vector<std::uint8_t> seen(static_cast<std::size_t>(image.width) * image.height, 0);
  std::vector<std::pair<int, int>> stack;
  BlobStats stats;
  long nuclear = 0, counted_area = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * image.width + x;
      if (seen[i] || !is_nuclear(image.row(y) + x * 3)) continue;
      int area = 0;
      seen[i] = 1;
      stack.push_back({x, y});
      while (!stack.empty()) {
        const auto [cx, cy] = stack.back();
        stack.pop_back();
        ++area;
        const int nx[4] = {cx - 1, cx + 1, cx, cx}, ny[4] = {cy, cy, cy - 1, cy + 1};
        for (int k = 0; k < 4; ++k) {
          if (nx[k] < 0 || ny[k] < 0 || nx[k] >= image.width || ny[k] >= image.height) continue;
          const std::size_t j = static_cast<std::size_t>(ny[k]) * image.width + nx[k];
          if (seen[j] || !is_nuclear(image.row(ny[k]) + nx[k] * 3)) continue;
          seen[j] = 1;
          stack.push_back({nx[k], ny[k]});
        }
      }
      nuclear += area;
      if (area >= min_area) {
        ++stats.blobs;
        counted_area += area;
      }
    }
  }
  stats.mean_area = stats.blobs > 0 ? static_cast<double>(counted_area) / stats.blobs : 0.0;
  stats.nuclear_fraction = static_cast<double>(nuclear) / (static_cast<double>(image.width) * image.height);
  return stats;
}

const SyntheticSlideSpec kSlide{8192, 8192, 1, 0.25};

TEST(SyntheticTissue, RejectsInvalidSpecs) {
  EXPECT_THROW(SyntheticTissue({0, 100, 1, 0.25}), std::invalid_argument);
  EXPECT_THROW(SyntheticTissue({100, -5, 1, 0.25}), std::invalid_argument);
  EXPECT_THROW(SyntheticTissue({100, 100, 1, 0.0}), std::invalid_argument);
}

TEST(SyntheticTissue, SameSeedGivesIdenticalPixels) {
  const SyntheticTissue a(kSlide), b(kSlide);
  const auto [x, y] = edge_window(a, 768);
  EXPECT_EQ(render_region(a, x, y, 768, 768).pixels, render_region(b, x, y, 768, 768).pixels);
  EXPECT_EQ(a.tissue_fraction(), b.tissue_fraction());
}

TEST(SyntheticTissue, DifferentSeedGivesDifferentPixels) {
  const SyntheticTissue a(kSlide), b({kSlide.width, kSlide.height, 2, kSlide.mpp});
  const auto window = tissue_window(a, 512);
  ASSERT_TRUE(window.has_value());
  const RgbImage pa = render_region(a, window->first, window->second, 512, 512);
  const RgbImage pb = render_region(b, window->first, window->second, 512, 512);
  std::size_t differing = 0;
  for (std::size_t i = 0; i < pa.pixels.size(); ++i) differing += pa.pixels[i] != pb.pixels[i] ? 1 : 0;
  EXPECT_GT(differing, pa.pixels.size() / 2);
}

TEST(SyntheticTissue, OneCallEqualsFourSubTiles) {
  const SyntheticTissue tissue(kSlide);
  // Straddle the outline and odd, non-block-aligned edges, so every code path meets a seam.
  const auto [ex, ey] = edge_window(tissue, 512);
  const std::int64_t x = ex + 37, y = ey + 101;
  const int w = 517, h = 389, split_x = 203, split_y = 170;
  const RgbImage whole = render_region(tissue, x, y, w, h);

  // The sub-tiles go into one buffer whose rows are padded, which also exercises `stride`.
  const std::size_t stride = static_cast<std::size_t>(w) * 3 + 11;
  std::vector<std::uint8_t> tiled(stride * h, 0);
  const int xs[2] = {0, split_x}, ws[2] = {split_x, w - split_x}, ys[2] = {0, split_y}, hs[2] = {split_y, h - split_y};
  for (int j = 1; j >= 0; --j) {  // out of order on purpose
    for (int i = 1; i >= 0; --i) {
      tissue.render(x + xs[i], y + ys[j], ws[i], hs[j], tiled.data() + ys[j] * stride + xs[i] * 3, stride);
    }
  }
  for (int r = 0; r < h; ++r) {
    ASSERT_TRUE(std::equal(whole.row(r), whole.row(r) + whole.stride(), tiled.data() + r * stride)) << "row " << r;
  }
}

TEST(SyntheticTissue, TilesRenderedOnThreadsMatchOneCall) {
  const SyntheticTissue tissue(kSlide);
  const auto window = tissue_window(tissue, 1024);
  ASSERT_TRUE(window.has_value());
  const auto [x, y] = *window;
  const RgbImage whole = render_region(tissue, x, y, 1024, 1024);
  RgbImage tiled(1024, 1024);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 15 - t; k >= 0; k -= 4) {  // 16 tiles of 256, each thread its own share, backwards
        const int tx = (k % 4) * 256, ty = (k / 4) * 256;
        tissue.render(x + tx, y + ty, 256, 256, tiled.row(ty) + tx * 3, tiled.stride());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(whole.pixels, tiled.pixels);
}

TEST(SyntheticTissue, SinglePixelsMatchTheirRegion) {
  const SyntheticTissue tissue(kSlide);
  const auto [x, y] = edge_window(tissue, 256);
  const RgbImage whole = render_region(tissue, x, y, 256, 256);
  for (int v = 3; v < 256; v += 41) {
    for (int u = 5; u < 256; u += 37) {
      std::uint8_t pixel[3];
      tissue.render(x + u, y + v, 1, 1, pixel, 3);
      ASSERT_TRUE(std::equal(pixel, pixel + 3, whole.row(v) + u * 3)) << u << "," << v;
    }
  }
}

TEST(SyntheticTissue, TissueCoversTwentyToFiftyPercentForAnySizeAndAspect) {
  const SyntheticSlideSpec specs[] = {{512, 512, 1, 0.25},       {4096, 1024, 2, 0.25},    {1000, 3000, 3, 0.25},
                                      {20000, 20000, 4, 0.5},    {200000, 50000, 5, 0.25}, {512, 8000, 6, 0.25},
                                      {200000, 200000, 7, 0.25}, {50000, 50000, 8, 0.25}};
  for (const SyntheticSlideSpec& spec : specs) {
    const SyntheticTissue tissue(spec);
    int inside = 0, total = 0;
    for (int j = 0; j < 200; ++j) {
      for (int i = 0; i < 200; ++i, ++total) {
        inside += tissue.is_tissue((2 * i + 1) * spec.width / 400, (2 * j + 1) * spec.height / 400) ? 1 : 0;
      }
    }
    const double fraction = static_cast<double>(inside) / total;
    EXPECT_GE(fraction, 0.20) << spec.width << "x" << spec.height;
    EXPECT_LE(fraction, 0.50) << spec.width << "x" << spec.height;
    EXPECT_NEAR(tissue.tissue_fraction(), fraction, 0.05) << spec.width << "x" << spec.height;
    // Tissue never touches the slide's edges.
    for (std::int64_t t = 0; t < 1000; ++t) {
      const std::int64_t u = t * (spec.width - 1) / 999, v = t * (spec.height - 1) / 999;
      ASSERT_FALSE(tissue.is_tissue(u, 0) || tissue.is_tissue(u, spec.height - 1) || tissue.is_tissue(0, v) ||
                   tissue.is_tissue(spec.width - 1, v));
    }
  }
}

// Whole small slides, so colour and density are judged over all of their tissue, whatever it holds
// (fat lobules, say), not over one window that may happen to be unusual.
TEST(SyntheticTissue, TissueIsPinkOrPurpleAndGlassIsNearWhite) {
  for (std::uint64_t seed : {1, 2}) {
    const SyntheticTissue tissue({3072, 2048, seed, 0.25});
    const RgbImage image = render_region(tissue, 0, 0, 3072, 2048);
    long glass = 0, tissue_pixels = 0, stained = 0, coloured = 0;
    double red = 0, green = 0, blue = 0;  // mean over tissue that is not near-white (fat cells, lumina)
    for (int v = 0; v < image.height; ++v) {
      for (int u = 0; u < image.width; ++u) {
        const std::uint8_t* p = image.row(v) + u * 3;
        if (!tissue.is_tissue(u, v)) {
          ++glass;
          ASSERT_TRUE(p[0] >= 238 && p[0] <= 250 && p[1] >= 236 && p[1] <= 250 && p[2] >= 234 && p[2] <= 248);
          ASSERT_GE(p[0] + 2, p[2]) << "glass is slightly warm";
          continue;
        }
        ++tissue_pixels;
        if (std::min({p[0], p[1], p[2]}) < 225) {
          ++coloured;
          red += p[0];
          green += p[1];
          blue += p[2];
        }
        stained += (p[1] + 20 < p[0] && p[1] + 10 < p[2]) ? 1 : 0;  // eosin pink or hematoxylin purple
      }
    }
    ASSERT_GT(glass, image.width * image.height / 2);
    ASSERT_GT(tissue_pixels, image.width * image.height / 5);
    const double n = static_cast<double>(tissue_pixels);
    red /= static_cast<double>(coloured);
    green /= static_cast<double>(coloured);
    blue /= static_cast<double>(coloured);
    std::printf("seed %d: mean stained colour (%.0f, %.0f, %.0f), %.0f%% of tissue pink or purple\n",
                static_cast<int>(seed), red, green, blue, 100.0 * static_cast<double>(stained) / n);
    EXPECT_GT(red - green, 30);
    EXPECT_GT(blue - green, 15);
    EXPECT_GT(stained, tissue_pixels * 6 / 10) << "the rest: lumina, fat cells, clefts";
  }
}

TEST(SyntheticTissue, NucleiArePresentAtPlausibleDensityAndScaleWithMpp) {
  // The same 1 mm square of glass scanned at 0.25 and at 0.5 um per pixel.
  double blob_px[2] = {0, 0};
  int k = 0;
  for (double mpp : {0.25, 0.5}) {
    const int side = static_cast<int>(1024 / mpp);
    const SyntheticTissue tissue({side, side, 1, mpp});
    const RgbImage image = render_region(tissue, 0, 0, side, side);
    const int min_area = static_cast<int>(8.0 / (mpp * mpp));  // 8 um^2: smaller is a sliver, not a nucleus
    const BlobStats stats = nuclear_blobs(image, min_area);
    const double tissue_um2 = tissue.tissue_fraction() * 1024.0 * 1024.0;
    const double um2_per_blob = tissue_um2 / std::max(1, stats.blobs);
    const double blob_um2 = stats.mean_area * mpp * mpp;
    std::printf("mpp %.2f: %d nuclear blobs, one per %.0f um^2 of tissue, mean %.1f um^2\n", mpp, stats.blobs,
                um2_per_blob, blob_um2);
    // Touching nuclei merge into one blob and fat has none, so accept one per 60..1500 um^2 of tissue.
    EXPECT_GT(um2_per_blob, 60);
    EXPECT_LT(um2_per_blob, 1500);
    // Nuclei are 5-12 um across: about 15-150 um^2 each (more where they touch).
    EXPECT_GT(blob_um2, 12);
    EXPECT_LT(blob_um2, 250);
    blob_px[k++] = stats.mean_area;
  }
  // Sizes are physical: at half the resolution a nucleus covers about a quarter of the pixels.
  EXPECT_NEAR(blob_px[0] / blob_px[1], 4.0, 1.5);
}

TEST(SyntheticTissue, RendersEdgesOfAndBeyondTheSlideAsGlass) {
  const SyntheticTissue tissue({3000, 2000, 9, 0.25});
  const RgbImage image = render_region(tissue, -100, 1900, 400, 300);  // a corner, half off the slide
  for (std::uint8_t v : image.pixels) ASSERT_GE(v, 234);
}

TEST(SyntheticTissue, RenderSpeed) {
  // Not asserted: printed so a run shows the per-pixel cost of a whole 8192 x 8192 slide, single-threaded.
  const SyntheticTissue tissue(kSlide);
  RgbImage tile(1024, 1024);
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t y = 0; y < kSlide.height; y += 1024) {
    for (std::int64_t x = 0; x < kSlide.width; x += 1024)
      tissue.render(x, y, 1024, 1024, tile.pixels.data(), tile.stride());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double pixels = static_cast<double>(kSlide.width) * static_cast<double>(kSlide.height);
  std::printf("8192x8192 synthetic slide: %.2f s, %.1f Mpx/s, %.2f ns/px (%.0f%% tissue)\n", seconds,
              pixels / seconds / 1e6, seconds * 1e9 / pixels, 100 * tissue.tissue_fraction());
}

TEST(SlideLabel, SyntheticTextIsDeterministicAndVariesWithSeed) {
  const LabelText a = synthetic_label_text(7), b = synthetic_label_text(7), c = synthetic_label_text(8);
  EXPECT_EQ(a.patient_name, b.patient_name);
  EXPECT_EQ(a.accession, b.accession);
  EXPECT_NE(a.accession, c.accession);
  EXPECT_EQ(a.stain, "H&E");
  ASSERT_EQ(a.date_of_birth.size(), 10u);  // YYYY-MM-DD
  EXPECT_EQ(a.date_of_birth[4], '-');
  EXPECT_EQ(a.date_of_birth[7], '-');
  EXPECT_EQ(a.accession[0], 'S');
  EXPECT_NE(a.patient_name.find(", "), std::string::npos);
}

TEST(SlideLabel, LabelHasDarkTextOnPaperAndIsReproducible) {
  const LabelText text = synthetic_label_text(3);
  const RgbImage label = render_label(text, 600, 400);
  ASSERT_EQ(label.width, 600);
  ASSERT_EQ(label.height, 400);
  long dark = 0, light = 0;
  for (int y = 0; y < label.height; ++y) {
    for (int x = 0; x < label.width; ++x) {
      const std::uint8_t* p = label.row(y) + x * 3;
      dark += (p[0] < 80 && p[1] < 80 && p[2] < 80) ? 1 : 0;
      light += (p[0] > 230 && p[1] > 230 && p[2] > 230) ? 1 : 0;
    }
  }
  EXPECT_GT(dark, 600 * 400 / 20) << "text and barcode";
  EXPECT_GT(light, 600 * 400 / 2) << "paper";
  EXPECT_EQ(label.pixels, render_label(text, 600, 400).pixels);
  EXPECT_NE(label.pixels, render_label(synthetic_label_text(4), 600, 400).pixels);
  EXPECT_THROW(render_label(text, 0, 10), std::invalid_argument);
}

TEST(SlideLabel, MacroIsThreeToOneWithTheLabelAtTheLeft) {
  // An 8x box-filtered overview of a small slide, as the slide writer would make.
  const SyntheticTissue tissue({2048, 1024, 5, 0.25});
  const RgbImage full = render_region(tissue, 0, 0, 2048, 1024);
  RgbImage overview(256, 128);
  for (int y = 0; y < overview.height; ++y) {
    for (int x = 0; x < overview.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        int sum = 0;
        for (int v = 0; v < 8; ++v) {
          for (int u = 0; u < 8; ++u) sum += full.row(y * 8 + v)[(x * 8 + u) * 3 + c];
        }
        overview.row(y)[x * 3 + c] = static_cast<std::uint8_t>(sum / 64);
      }
    }
  }
  const RgbImage label = render_label(synthetic_label_text(5));
  const RgbImage macro = render_macro(overview, label, 300);
  ASSERT_EQ(macro.height, 300);
  EXPECT_NEAR(static_cast<double>(macro.width) / macro.height, 3.0, 0.05);
  long left_dark = 0, right_dark = 0, right_pink = 0;
  for (int y = 0; y < macro.height; ++y) {
    for (int x = 0; x < macro.width; ++x) {
      const std::uint8_t* p = macro.row(y) + x * 3;
      const bool dark = p[0] < 80 && p[1] < 80 && p[2] < 80;
      (x < macro.height ? left_dark : right_dark) += dark ? 1 : 0;
      right_pink += (x > macro.height && p[1] + 25 < p[0]) ? 1 : 0;
    }
  }
  EXPECT_GT(left_dark, 1000) << "label text at the left end";
  EXPECT_EQ(right_dark, 0);
  EXPECT_GT(right_pink, 1000) << "tissue on the glass";
  EXPECT_EQ(macro.pixels, render_macro(overview, label, 300).pixels);
  EXPECT_EQ(render_macro(RgbImage(), RgbImage(), 100).width, 300);
}

}  // namespace
}  // namespace reread
