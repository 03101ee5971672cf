// IIIF Image API 3.0 request parsing and info.json: every region and size form, the error codes, canonical
// URIs, hostile numbers, and the consistency between what info.json advertises and what the parser accepts.
#include "iiif_image_request.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace reread::iiif {
namespace {

// The spec's example image is 300x200, so its worked examples apply directly.
ImageInfo image(std::int64_t w = 300, std::int64_t h = 200) {
  ImageInfo info;
  info.width = w;
  info.height = h;
  return info;
}

std::variant<ImageRequest, RequestError> parse(std::string_view region, std::string_view size,
                                               const ImageInfo& info = image(), std::string_view rotation = "0",
                                               std::string_view quality_dot_format = "default.jpg") {
  return parse_image_request(region, size, rotation, quality_dot_format, info);
}

ImageRequest ok(std::string_view region, std::string_view size, const ImageInfo& info = image(),
                std::string_view rotation = "0", std::string_view quality_dot_format = "default.jpg") {
  auto r = parse(region, size, info, rotation, quality_dot_format);
  if (const auto* e = std::get_if<RequestError>(&r)) {
    ADD_FAILURE() << region << "/" << size << "/" << rotation << "/" << quality_dot_format << " failed with "
                  << e->status << ": " << e->message;
    return {};
  }
  return std::get<ImageRequest>(r);
}

RequestError error(std::string_view region, std::string_view size, const ImageInfo& info = image(),
                   std::string_view rotation = "0", std::string_view quality_dot_format = "default.jpg") {
  auto r = parse(region, size, info, rotation, quality_dot_format);
  if (const auto* req = std::get_if<ImageRequest>(&r)) {
    ADD_FAILURE() << region << "/" << size << "/" << rotation << "/" << quality_dot_format << " was accepted as "
                  << req->canonical();
    return {0, ""};
  }
  return std::get<RequestError>(r);
}

int status(std::string_view region, std::string_view size, const ImageInfo& info = image(),
           std::string_view rotation = "0", std::string_view quality_dot_format = "default.jpg") {
  auto r = parse(region, size, info, rotation, quality_dot_format);
  if (const auto* e = std::get_if<RequestError>(&r)) return e->status;
  return 200;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

void expect_region(const ImageRequest& r, std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h) {
  EXPECT_EQ(r.x, x);
  EXPECT_EQ(r.y, y);
  EXPECT_EQ(r.w, w);
  EXPECT_EQ(r.h, h);
}

void expect_size(const ImageRequest& r, std::int64_t w, std::int64_t h) {
  EXPECT_EQ(r.out_w, w);
  EXPECT_EQ(r.out_h, h);
}

ImageInfo with_limits(std::int64_t max_width, std::int64_t max_height, std::int64_t max_area) {
  ImageInfo info = image();
  info.max_width = max_width;
  info.max_height = max_height;
  info.max_area = max_area;
  return info;
}

// ---- region ----

TEST(IiifRegion, full_region_covers_the_whole_image) {
  const auto r = ok("full", "max");
  expect_region(r, 0, 0, 300, 200);
  expect_size(r, 300, 200);
  EXPECT_TRUE(r.full_region);
}

TEST(IiifRegion, square_region_is_centred_in_the_longer_dimension) {
  expect_region(ok("square", "max"), 50, 0, 200, 200);
  expect_region(ok("square", "max", image(200, 301)), 0, 50, 200, 200);
  EXPECT_FALSE(ok("square", "max").full_region);
}

TEST(IiifRegion, square_region_of_a_square_image_is_the_full_image) {
  const auto r = ok("square", "max", image(256, 256));
  expect_region(r, 0, 0, 256, 256);
  EXPECT_EQ(r.canonical(), "full/max/0/default.jpg");
}

TEST(IiifRegion, pixel_region_selects_those_pixels) {
  const auto r = ok("125,15,120,140", "max");
  expect_region(r, 125, 15, 120, 140);
  expect_size(r, 120, 140);
}

TEST(IiifRegion, pixel_region_partly_outside_is_clipped_at_the_edge) {
  // Spec 4.1 example 5: returned image is 175,185 px.
  const auto r = ok("125,15,200,200", "max");
  expect_region(r, 125, 15, 175, 185);
  expect_size(r, 175, 185);
}

TEST(IiifRegion, pixel_region_covering_the_image_is_canonically_full) {
  const auto r = ok("0,0,5000,5000", "max");
  expect_region(r, 0, 0, 300, 200);
  EXPECT_TRUE(r.full_region);
  EXPECT_EQ(r.canonical(), "full/max/0/default.jpg");
}

TEST(IiifRegion, pixel_region_accepts_leading_zeros) { expect_region(ok("007,0010,1,1", "max"), 7, 10, 1, 1); }

TEST(IiifRegion, pct_region_rounds_to_the_nearest_pixel) {
  // Spec 4.1 example 4 shows the same region as 125,15,120,140.
  expect_region(ok("pct:41.6,7.5,40,70", "max"), 125, 15, 120, 140);
  expect_region(ok("pct:0,0,100,100", "max"), 0, 0, 300, 200);
  expect_region(ok("pct:.5,0.,50,50", "max"), 2, 0, 150, 100);  // 1.5 rounds up
}

TEST(IiifRegion, pct_region_partly_outside_is_clipped_at_the_edge) {
  // Spec 4.1 example 6: returned image is 175,185 px.
  const auto r = ok("pct:41.6,7.5,66.6,100", "max");
  expect_region(r, 125, 15, 175, 185);
  expect_region(ok("pct:50,50,1000,1000", "max"), 150, 100, 150, 100);
}

TEST(IiifRegion, rejects_region_with_zero_width_or_height) {
  for (const char* region : {"0,0,0,10", "0,0,10,0", "pct:0,0,0,50", "pct:0,0,50,0", "pct:0,0,0.0,50"}) {
    const auto e = error(region, "max");
    EXPECT_EQ(e.status, 400) << region;
    EXPECT_TRUE(contains(e.message, "zero")) << region << ": " << e.message;
  }
}

TEST(IiifRegion, rejects_region_outside_image) {
  for (const char* region : {"300,0,10,10", "0,200,10,10", "1000,1000,5,5", "pct:100,0,10,10", "pct:0,100,10,10",
                             "pct:200,0,10,10", "pct:99.9,0,10,10"}) {
    const auto e = error(region, "max");
    EXPECT_EQ(e.status, 400) << region;
    EXPECT_TRUE(contains(e.message, "outside")) << region << ": " << e.message;
  }
  expect_region(ok("299,199,10,10", "max"), 299, 199, 1, 1);  // the last pixel is still inside
}

TEST(IiifRegion, rejects_pct_region_smaller_than_a_pixel) {
  EXPECT_EQ(status("pct:0,0,0.1,50", "max"), 400);  // 0.3 px wide
}

TEST(IiifRegion, rejects_malformed_regions) {
  for (const char* region : {"",
                             "Full",
                             "FULL",
                             "full ",
                             " full",
                             "squares",
                             "1,2,3",
                             "1,2,3,4,5",
                             "1,,3,4",
                             ",1,2,3",
                             "1,2,3,",
                             "1.5,0,10,10",
                             "0,0,10.0,10",
                             "a,b,c,d",
                             "pct:",
                             "pct:1,2,3",
                             "pct:1,2,3,4,",
                             "pct:1..2,0,10,10",
                             "pct:.,0,10,10",
                             "PCT:1,2,3,4",
                             "pct 1,2,3,4",
                             "x:1,2,3,4",
                             "1;2;3;4",
                             "0,0,10,10\n"}) {
    EXPECT_EQ(status(region, "max"), 400) << "region: '" << region << "'";
  }
}

// ---- size ----

TEST(IiifSize, max_without_limits_is_the_region_size) {
  expect_size(ok("full", "max"), 300, 200);
  expect_size(ok("10,20,30,40", "max"), 30, 40);
}

TEST(IiifSize, max_size_respects_max_width) {
  // maxHeight is absent, so it equals maxWidth (spec 5.2); width binds here.
  const auto r = ok("full", "max", with_limits(200, 0, 0));
  expect_size(r, 200, 133);
  EXPECT_EQ(r.canonical(), "full/max/0/default.jpg");
}

TEST(IiifSize, max_size_respects_max_height) { expect_size(ok("full", "max", with_limits(1000, 100, 0)), 150, 100); }

TEST(IiifSize, max_height_alone_is_inferred_from_max_width) {
  // maxWidth 250 implies maxHeight 250, which a 200x300 portrait image hits first.
  expect_size(ok("full", "max",
                 [] {
                   auto i = image(200, 300);
                   i.max_width = 250;
                   return i;
                 }()),
              167, 250);
}

TEST(IiifSize, max_size_respects_max_area) {
  expect_size(ok("full", "max", with_limits(0, 0, 15000)), 150, 100);  // exactly a quarter of the area

  const auto r = ok("full", "max", with_limits(0, 0, 10000));
  EXPECT_LE(r.out_w * r.out_h, 10000);
  EXPECT_EQ(r.out_w, 122);  // 300 * sqrt(1/6) = 122.47
  EXPECT_EQ(r.out_h, 81);   // 200 * sqrt(1/6) = 81.65

  // A whole-slide-sized image against a 4 megapixel limit: as large as allowed, same aspect ratio.
  ImageInfo wsi = image(98304, 77312);
  wsi.max_area = 4'000'000;
  const auto big = ok("full", "max", wsi);
  EXPECT_LE(big.out_w * big.out_h, 4'000'000);
  EXPECT_GT((big.out_w + 1) * (big.out_h + 1), 4'000'000);
  EXPECT_NEAR(static_cast<double>(big.out_w) / static_cast<double>(big.out_h), 98304.0 / 77312.0, 0.01);
}

TEST(IiifSize, max_size_respects_the_tightest_of_several_limits) {
  expect_size(ok("full", "max", with_limits(250, 250, 20000)), 173, 115);  // area binds: 173*115 = 19895
  expect_size(ok("full", "max", with_limits(120, 120, 1'000'000)), 120, 80);
}

TEST(IiifSize, max_size_of_a_region_within_the_limits_is_not_upscaled) {
  expect_size(ok("0,0,50,40", "max", with_limits(1000, 1000, 1'000'000)), 50, 40);
}

TEST(IiifSize, upscaled_max_grows_to_the_limits) {
  const auto r = ok("full", "^max", with_limits(600, 0, 0));
  expect_size(r, 600, 400);
  EXPECT_TRUE(r.upscaled());
  EXPECT_EQ(r.canonical(), "full/^max/0/default.jpg");
  expect_size(ok("full", "^max", with_limits(0, 0, 240000)), 600, 400);
}

TEST(IiifSize, upscaled_max_of_a_region_beyond_the_limits_is_max) {
  const auto r = ok("full", "^max", with_limits(100, 0, 0));
  expect_size(r, 100, 67);
  EXPECT_EQ(r.canonical(), "full/max/0/default.jpg");
}

TEST(IiifSize, upscaled_max_without_limits_is_the_region_size) {
  // Nothing to grow towards, so nothing to upscale: not an error.
  const auto r = ok("full", "^max");
  expect_size(r, 300, 200);
  EXPECT_EQ(r.canonical(), "full/max/0/default.jpg");
}

TEST(IiifSize, width_only_keeps_the_aspect_ratio) {
  const auto r = ok("full", "150,");
  expect_size(r, 150, 100);
  EXPECT_EQ(r.canonical(), "full/150,100/0/default.jpg");
}

TEST(IiifSize, height_only_keeps_the_aspect_ratio) { expect_size(ok("full", ",150"), 225, 150); }

TEST(IiifSize, derived_side_rounds_half_up) {
  expect_size(ok("0,0,4,3", "2,"), 2, 2);            // 1.5 -> 2
  expect_size(ok("0,0,3,2", "2,"), 2, 1);            // 1.33 -> 1
  expect_size(ok("full", "1,", image(3, 5)), 1, 2);  // 1.67 -> 2
}

TEST(IiifSize, pct_scales_both_sides) {
  expect_size(ok("full", "pct:50"), 150, 100);
  expect_size(ok("full", "pct:100"), 300, 200);
  expect_size(ok("full", "pct:33.3"), 100, 67);  // 99.9 and 66.6 round to nearest
  expect_size(ok("125,15,120,140", "pct:25"), 30, 35);
}

TEST(IiifSize, width_and_height_may_distort) {
  const auto r = ok("full", "225,100");
  expect_size(r, 225, 100);
  EXPECT_EQ(r.canonical(), "full/225,100/0/default.jpg");
}

TEST(IiifSize, confined_fits_inside_the_box_keeping_aspect_ratio) {
  expect_size(ok("full", "!225,100"), 150, 100);  // spec 4.2 example 6
  expect_size(ok("full", "!100,225"), 100, 67);
  expect_size(ok("full", "!150,100"), 150, 100);
}

TEST(IiifSize, confined_without_caret_never_exceeds_the_region) {
  const auto r = ok("full", "!1000,1000");
  expect_size(r, 300, 200);
  EXPECT_EQ(r.canonical(), "full/max/0/default.jpg");
}

TEST(IiifSize, confined_respects_server_limits) {
  expect_size(ok("full", "!1000,1000", with_limits(100, 0, 0)), 100, 67);
  const auto r = ok("full", "^!10000,10000", with_limits(0, 0, 60000 * 4));
  expect_size(r, 600, 400);
}

TEST(IiifSize, upscaled_confined_grows_to_the_box) {
  const auto r = ok("full", "^!360,360", with_limits(1000, 0, 0));
  expect_size(r, 360, 240);  // spec 4.2 example 6, upscaled
  EXPECT_EQ(r.canonical(), "full/^360,240/0/default.jpg");
}

TEST(IiifSize, caret_forms_upscale_when_supported) {
  const auto limits = with_limits(1000, 1000, 0);
  expect_size(ok("full", "^600,", limits), 600, 400);
  expect_size(ok("full", "^,400", limits), 600, 400);
  expect_size(ok("full", "^pct:200", limits), 600, 400);
  expect_size(ok("full", "^600,300", limits), 600, 300);
  EXPECT_EQ(ok("full", "^600,", limits).canonical(), "full/^600,400/0/default.jpg");
  EXPECT_TRUE(ok("full", "^600,", limits).upscaled());
}

TEST(IiifSize, caret_forms_that_do_not_upscale_are_accepted_without_upscaling_support) {
  ImageInfo no_up = with_limits(1000, 0, 0);
  no_up.allow_upscaling = false;
  for (const ImageInfo& info : {image(), no_up}) {
    expect_size(ok("full", "^150,", info), 150, 100);
    expect_size(ok("full", "^pct:50", info), 150, 100);
    expect_size(ok("full", "^!150,150", info), 150, 100);
    expect_size(ok("full", "^300,200", info), 300, 200);
    EXPECT_EQ(ok("full", "^150,", info).canonical(), "full/150,100/0/default.jpg");
  }
}

TEST(IiifSize, rejects_size_larger_than_region_without_caret) {
  for (const char* size : {"301,", ",201", "pct:101", "pct:100.5", "301,200", "300,201", "450,"}) {
    const auto e = error("full", size, with_limits(1000, 0, 0));
    EXPECT_EQ(e.status, 400) << size;
    EXPECT_TRUE(contains(e.message, "^")) << size << ": " << e.message;
  }
  EXPECT_EQ(status("10,10,50,50", "51,"), 400);
}

TEST(IiifSize, upscaling_request_without_support_is_not_implemented) {
  // Spec 4.2: ^ sizes that need upscaling are 501 when the server does not upscale. Upscaling needs a
  // maxWidth or maxArea, so an image without limits cannot upscale either.
  ImageInfo disabled = with_limits(1000, 0, 0);
  disabled.allow_upscaling = false;
  for (const ImageInfo& info : {image(), disabled}) {
    for (const char* size : {"^600,", "^,400", "^pct:120", "^301,200", "^!600,600"}) {
      EXPECT_EQ(status("full", size, info), 501) << size;
    }
  }
  EXPECT_EQ(status("full", "^max", disabled), 501);
  EXPECT_FALSE(upscaling_supported(image()));
  EXPECT_FALSE(upscaling_supported(disabled));
  EXPECT_TRUE(upscaling_supported(with_limits(1000, 0, 0)));
  EXPECT_TRUE(upscaling_supported(with_limits(0, 0, 1000)));
}

TEST(IiifSize, rejects_size_exceeding_max_width) {
  const auto limits = with_limits(200, 1000, 0);
  for (const char* size : {"250,", "250,100", "^600,"}) {
    const auto e = error("full", size, limits);
    EXPECT_EQ(e.status, 400) << size;
    EXPECT_TRUE(contains(e.message, "maxWidth")) << size << ": " << e.message;
  }
  expect_size(ok("full", "200,", limits), 200, 133);
}

TEST(IiifSize, rejects_size_exceeding_max_height) {
  const auto limits = with_limits(1000, 100, 0);
  for (const char* size : {",150", "180,", "pct:60", "100,101"}) {
    const auto e = error("full", size, limits);
    EXPECT_EQ(e.status, 400) << size;
    EXPECT_TRUE(contains(e.message, "maxHeight")) << size << ": " << e.message;
  }
  expect_size(ok("full", ",100", limits), 150, 100);
}

TEST(IiifSize, rejects_size_exceeding_max_area) {
  const auto limits = with_limits(0, 0, 10000);
  for (const char* size : {"150,", "pct:50", "101,100"}) {
    const auto e = error("full", size, limits);
    EXPECT_EQ(e.status, 400) << size;
    EXPECT_TRUE(contains(e.message, "maxArea")) << size << ": " << e.message;
  }
  expect_size(ok("full", "100,100", limits), 100, 100);
}

TEST(IiifSize, rejects_size_that_rounds_to_zero) {
  for (const char* size : {"0,", ",0", "0,0", "0,10", "pct:0", "pct:0.1", "!0,10"}) {
    EXPECT_EQ(status("full", size), 400) << size;
  }
  EXPECT_EQ(status("full", "1,", image(1000, 10)), 400);  // height 0.01
  EXPECT_EQ(status("full", "max",
                   [] {
                     auto i = image(10000, 1);
                     i.max_area = 100;
                     return i;
                   }()),
            400);  // the area limit leaves less than a pixel of height
}

TEST(IiifSize, rejects_malformed_sizes) {
  for (const char* size : {"",          "full",   "MAX",     "Max",    "max ",    "^",       "^^max", "^^150,",
                           ",",         "150",    "1,2,3",   "!150,",  "!,100",   "!",       "^!",    "!^150,100",
                           "!!150,100", "pct:",   "pct:abc", "pct:-5", "pct:5%",  "pct:1,2", "w,h",   "150 ,",
                           " 150,",     "150,+1", "1.5,",    ",1.5",   "pct:50,", "max,",    "150,\t"}) {
    EXPECT_EQ(status("full", size), 400) << "size: '" << size << "'";
  }
}

// ---- rotation ----

TEST(IiifRotation, accepts_zero_in_any_spelling) {
  for (const char* rotation : {"0", "0.0", "00", "0."}) {
    EXPECT_EQ(status("full", "max", image(), rotation), 200) << rotation;
  }
}

TEST(IiifRotation, valid_but_unsupported_rotation_is_400_not_supported) {
  // Spec 4.3: "A rotation value that is out of range or unsupported SHOULD result in a 400".
  for (const char* rotation : {"90", "180", "270", "22.5", "360", "!0", "!90", "!22.5", "0.5"}) {
    const auto e = error("full", "max", image(), rotation);
    EXPECT_EQ(e.status, 400) << rotation;
    EXPECT_TRUE(contains(e.message, "not supported")) << rotation << ": " << e.message;
  }
}

TEST(IiifRotation, rejects_invalid_rotation) {
  for (const char* rotation : {"abc", "-1", "361", "360.01", "", "!", "!!0", "+0", " 0", "0 ", "1e2", "nan", "inf",
                               "0x0", "90deg", "0,0", "1..0", "!-90"}) {
    const auto e = error("full", "max", image(), rotation);
    EXPECT_EQ(e.status, 400) << "rotation: '" << rotation << "'";
    EXPECT_FALSE(contains(e.message, "not supported")) << rotation << ": " << e.message;
  }
}

// ---- quality and format ----

TEST(IiifQualityFormat, accepts_default_and_color_in_jpg_and_png) {
  EXPECT_EQ(ok("full", "max", image(), "0", "default.jpg").format, Format::jpg);
  EXPECT_EQ(ok("full", "max", image(), "0", "color.jpg").format, Format::jpg);
  EXPECT_EQ(ok("full", "max", image(), "0", "default.png").format, Format::png);
  EXPECT_EQ(ok("full", "max", image(), "0", "color.png").format, Format::png);
  EXPECT_EQ(extension(Format::jpg), "jpg");
  EXPECT_EQ(extension(Format::png), "png");
  EXPECT_EQ(media_type(Format::jpg), "image/jpeg");
  EXPECT_EQ(media_type(Format::png), "image/png");
}

TEST(IiifQualityFormat, unsupported_quality_is_400_not_supported) {
  for (const char* qf : {"gray.jpg", "bitonal.png"}) {
    const auto e = error("full", "max", image(), "0", qf);
    EXPECT_EQ(e.status, 400) << qf;
    EXPECT_TRUE(contains(e.message, "not supported")) << qf << ": " << e.message;
  }
}

TEST(IiifQualityFormat, rejects_unknown_quality) {
  for (const char* qf : {"grey.jpg", "Default.jpg", "native.jpg", ".jpg", "default .jpg", "colour.png"}) {
    EXPECT_EQ(status("full", "max", image(), "0", qf), 400) << qf;
  }
}

TEST(IiifQualityFormat, unsupported_format_is_400_not_supported) {
  // Spec 4.5: "A format value that is unsupported SHOULD result in a 400".
  for (const char* qf : {"default.tif", "default.gif", "default.pdf", "default.jp2", "default.webp"}) {
    const auto e = error("full", "max", image(), "0", qf);
    EXPECT_EQ(e.status, 400) << qf;
    EXPECT_TRUE(contains(e.message, "not supported")) << qf << ": " << e.message;
  }
}

TEST(IiifQualityFormat, rejects_unknown_format) {
  for (const char* qf : {"default.bmp", "default.JPG", "default.jpeg", "default.", "default.jpg.png", "default.jpg "}) {
    EXPECT_EQ(status("full", "max", image(), "0", qf), 400) << qf;
  }
  EXPECT_EQ(status("full", "max", image(), "0", std::string_view("default.jpg\0", 12)), 400);
}

TEST(IiifQualityFormat, rejects_missing_dot) {
  for (const char* qf : {"default", "defaultjpg", "", "jpg"}) {
    EXPECT_EQ(status("full", "max", image(), "0", qf), 400) << qf;
  }
}

// ---- error order and bad images ----

TEST(IiifRequest, reports_the_first_error_in_url_order) {
  // A bad region wins over a size that would be 501.
  EXPECT_EQ(status("0,0,0,0", "^600,", image(), "90", "gray.gif"), 400);
  EXPECT_EQ(status("full", "^600,", image(), "abc", "gray.gif"), 501);
}

TEST(IiifRequest, image_without_pixels_is_a_server_error) {
  EXPECT_EQ(status("full", "max", image(0, 200)), 500);
  EXPECT_EQ(status("full", "max", image(300, -1)), 500);
}

// ---- overflow and garbage ----

TEST(IiifRobustness, rejects_numbers_beyond_int64) {
  for (const char* region : {"99999999999999999999,0,10,10", "0,99999999999999999999,10,10",
                             "0,0,99999999999999999999,10", "9223372036854775808,0,1,1"}) {
    EXPECT_EQ(status(region, "max"), 400) << region;
  }
  for (const char* size :
       {"99999999999999999999,", ",99999999999999999999", "^99999999999999999999,", "!99999999999999999999,10"}) {
    EXPECT_EQ(status("full", size, with_limits(1000, 0, 0)), 400) << size;
  }
}

TEST(IiifRobustness, extreme_in_range_values_are_clipped_or_rejected_without_overflow) {
  expect_region(ok("0,0,9223372036854775807,9223372036854775807", "max"), 0, 0, 300, 200);
  expect_region(ok("10,10,9223372036854775807,9223372036854775807", "max"), 10, 10, 290, 190);
  EXPECT_EQ(status("9223372036854775807,9223372036854775807,1,1", "max"), 400);
  expect_region(ok("pct:0,0,99999999999999999999999999999,1", "max"), 0, 0, 300, 2);
}

TEST(IiifRobustness, huge_sizes_are_rejected_not_wrapped) {
  const auto area_only = with_limits(0, 0, 1'000'000);
  const auto width_only = with_limits(1000, 0, 0);
  for (const auto& info : {area_only, width_only}) {
    for (const char* size : {"^9223372036854775807,", "^,9223372036854775807", "^9223372036854775807,1",
                             "^9223372036854775807,9223372036854775807", "^pct:99999999999999999999999",
                             "^pct:1000000000000000000000000000000000000000000000000"}) {
      EXPECT_EQ(status("full", size, info), 400) << size;
    }
  }
  // A confining box as large as int64 allows is still confined by the limits.
  const auto r = ok("full", "^!9223372036854775807,9223372036854775807", area_only);
  EXPECT_LE(r.out_w * r.out_h, 1'000'000);
  EXPECT_EQ(r.out_w, 1224);  // 300 * sqrt(1e6 / 6e4) = 1224.7
  const auto tall = ok("full", "^!9223372036854775807,400", area_only);
  expect_size(tall, 600, 400);
}

TEST(IiifRobustness, rejects_signs_spaces_exponents_and_special_floats) {
  for (const char* region :
       {"-1,0,10,10", "0,0,-10,10", "+5,0,10,10", " 5,0,10,10", "5 ,0,10,10", "1e3,0,10,10", "0x10,0,10,10",
        "nan,0,10,10", "inf,0,10,10", "pct:nan,0,10,10", "pct:inf,0,10,10", "pct:1e2,0,10,10", "pct:-1,0,10,10",
        "pct:+1,0,10,10", "pct:0,0,10,1e1", "pct:0,0,10,INF", "pct:0x1p3,0,10,10", "５,0,10,10"}) {
    EXPECT_EQ(status(region, "max"), 400) << region;
  }
  for (const char* size :
       {"-5,", ",-5", "+5,", "1e2,", "pct:nan", "pct:inf", "pct:1e2", "pct:+50", "pct:-50", "!-5,5", "^-5,"}) {
    EXPECT_EQ(status("full", size), 400) << size;
  }
}

TEST(IiifRobustness, very_long_inputs_are_rejected) {
  const std::string digits(10000, '9');
  const std::string garbage(10000, ',');
  EXPECT_EQ(status(digits + ",0,1,1", "max"), 400);
  EXPECT_EQ(status("pct:" + digits + ",0,1,1", "max"), 400);
  EXPECT_EQ(status("pct:0,0,1." + digits + ",50", "max"), 200);  // a long but ordinary decimal
  EXPECT_EQ(status(garbage, "max"), 400);
  EXPECT_EQ(status("full", digits + ","), 400);
  EXPECT_EQ(status("full", "pct:" + digits), 400);
  EXPECT_EQ(status("full", "max", image(), digits), 400);
  EXPECT_EQ(status("full", "max", image(), "0", "default." + digits), 400);
}

TEST(IiifRobustness, huge_images_do_not_overflow) {
  const auto r = ok("full", "max", image(std::int64_t{1} << 40, std::int64_t{1} << 40));
  EXPECT_EQ(r.out_w, std::int64_t{1} << 40);
  ImageInfo limited = image(std::int64_t{1} << 40, std::int64_t{1} << 39);
  limited.max_area = 1'000'000;
  const auto small = ok("full", "max", limited);
  EXPECT_LE(small.out_w * small.out_h, 1'000'000);
  EXPECT_EQ(status("full", "pct:50", limited), 400);
}

// ---- canonical ----

TEST(IiifCanonical, equivalent_requests_share_one_canonical_form) {
  for (const char* size : {"150,", ",100", "pct:50", "!150,150", "150,100", "^150,100", "^!150,100"}) {
    EXPECT_EQ(ok("full", size).canonical(), "full/150,100/0/default.jpg") << size;
    EXPECT_EQ(ok("0,0,300,200", size).canonical(), "full/150,100/0/default.jpg") << size;
    EXPECT_EQ(ok("pct:0,0,100,100", size).canonical(), "full/150,100/0/default.jpg") << size;
  }
  EXPECT_EQ(ok("full", "max", image(), "0.0", "color.jpg").canonical(), "full/max/0/default.jpg");
  EXPECT_EQ(ok("full", "300,200").canonical(), "full/max/0/default.jpg");
}

TEST(IiifCanonical, uses_pixel_region_and_format_extension) {
  EXPECT_EQ(ok("square", "max").canonical(), "50,0,200,200/max/0/default.jpg");
  EXPECT_EQ(ok("pct:41.6,7.5,40,70", "60,", image(), "0", "default.png").canonical(),
            "125,15,120,140/60,70/0/default.png");
  EXPECT_EQ(ok("125,15,200,200", "max").canonical(), "125,15,175,185/max/0/default.jpg");
}

TEST(IiifCanonical, marks_upscaled_sizes_with_caret) {
  const auto limits = with_limits(1000, 0, 0);
  EXPECT_EQ(ok("0,0,200,200", "^400,", limits).canonical(), "0,0,200,200/^400,400/0/default.jpg");
  EXPECT_EQ(ok("full", "^max", limits).canonical(), "full/^max/0/default.jpg");
  EXPECT_EQ(ok("full", "^1000,", limits).canonical(), "full/^max/0/default.jpg");  // the same image as ^max
  EXPECT_EQ(ok("full", "^301,200", limits).canonical(), "full/^301,200/0/default.jpg");
}

TEST(IiifCanonical, max_reflects_the_limits) {
  const auto limits = with_limits(200, 0, 0);
  EXPECT_EQ(ok("full", "200,", limits).canonical(), "full/max/0/default.jpg");
  EXPECT_EQ(ok("full", "100,", limits).canonical(), "full/100,67/0/default.jpg");
}

// ---- info.json ----

ImageInfo slide() {
  ImageInfo info = image(98304, 77312);
  info.max_width = 4096;
  info.max_height = 4096;
  info.max_area = 16'777'216;
  info.tile_width = 512;
  info.tile_height = 256;
  info.scale_factors = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  info.sizes = {{384, 302}, {768, 604}, {1536, 1208}};
  return info;
}

TEST(IiifInfoJson, has_the_required_image_service_fields) {
  const auto j = info_json("https://example.org/iiif/slide-1", slide());
  EXPECT_EQ(j.at("@context"), "http://iiif.io/api/image/3/context.json");
  EXPECT_EQ(j.at("id"), "https://example.org/iiif/slide-1");
  EXPECT_EQ(j.at("type"), "ImageService3");
  EXPECT_EQ(j.at("protocol"), "http://iiif.io/api/image");
  EXPECT_EQ(j.at("profile"), "level1");
  EXPECT_EQ(j.at("width"), 98304);
  EXPECT_EQ(j.at("height"), 77312);
  EXPECT_EQ(j.at("maxWidth"), 4096);
  EXPECT_EQ(j.at("maxHeight"), 4096);
  EXPECT_EQ(j.at("maxArea"), 16'777'216);
  EXPECT_TRUE(j.dump().starts_with("{\"@context\":")) << "spec 5.2: @context should come first";
}

TEST(IiifInfoJson, drops_a_trailing_slash_from_the_id) {
  EXPECT_EQ(info_json("https://example.org/iiif/a/", image()).at("id"), "https://example.org/iiif/a");
}

TEST(IiifInfoJson, describes_tiles_and_sizes) {
  const auto j = info_json("https://example.org/iiif/s", slide());
  ASSERT_EQ(j.at("tiles").size(), 1u);
  const auto& tile = j.at("tiles").at(0);
  EXPECT_EQ(tile.at("width"), 512);
  EXPECT_EQ(tile.at("height"), 256);
  EXPECT_EQ(tile.at("scaleFactors"), nlohmann::json({1, 2, 4, 8, 16, 32, 64, 128, 256}));
  ASSERT_EQ(j.at("sizes").size(), 3u);
  EXPECT_EQ(j.at("sizes").at(0), nlohmann::json({{"width", 384}, {"height", 302}}));
  EXPECT_EQ(j.at("sizes").at(2), nlohmann::json({{"width", 1536}, {"height", 1208}}));
}

TEST(IiifInfoJson, lists_extra_formats_qualities_and_level2_features) {
  const auto j = info_json("https://example.org/iiif/s", slide());
  EXPECT_EQ(j.at("extraFormats"), nlohmann::json::array({"png"}));
  EXPECT_EQ(j.at("extraQualities"), nlohmann::json::array({"color"}));
  EXPECT_EQ(j.at("extraFeatures"),
            nlohmann::json::array({"regionByPct", "sizeByConfinedWh", "sizeByPct", "sizeByWh", "sizeUpscaling"}));
}

TEST(IiifInfoJson, advertises_upscaling_only_when_it_is_served) {
  ImageInfo no_limits = image();
  ImageInfo disabled = slide();
  disabled.allow_upscaling = false;
  for (const auto& info : {no_limits, disabled}) {
    const auto features = info_json("https://example.org/iiif/s", info).at("extraFeatures");
    EXPECT_EQ(std::find(features.begin(), features.end(), "sizeUpscaling"), features.end());
  }
}

TEST(IiifInfoJson, omits_absent_limits_tiles_and_sizes) {
  ImageInfo info = image();
  info.scale_factors = {};
  const auto j = info_json("https://example.org/iiif/s", info);
  for (const char* key : {"maxWidth", "maxHeight", "maxArea", "tiles", "sizes"}) {
    EXPECT_FALSE(j.contains(key)) << key;
  }
}

TEST(IiifInfoJson, max_height_appears_only_with_max_width) {
  // Spec 5.2: maxWidth must be given if maxHeight is; alone, maxHeight is neither advertised nor enforced.
  const auto only_height = with_limits(0, 100, 0);
  EXPECT_FALSE(info_json("https://example.org/iiif/s", only_height).contains("maxHeight"));
  expect_size(ok("full", "max", only_height), 300, 200);
  const auto only_width = with_limits(250, 0, 0);
  const auto j = info_json("https://example.org/iiif/s", only_width);
  EXPECT_EQ(j.at("maxWidth"), 250);
  EXPECT_FALSE(j.contains("maxHeight"));  // clients infer maxHeight = maxWidth
}

TEST(IiifInfoJson, leaves_out_sizes_it_could_not_serve) {
  ImageInfo info = with_limits(200, 0, 0);
  info.sizes = {{75, 50}, {150, 100}, {300, 200}, {600, 400}, {0, 10}, {-5, 5}};
  const auto j = info_json("https://example.org/iiif/s", info);
  EXPECT_EQ(j.at("sizes"), nlohmann::json::array({{{"width", 75}, {"height", 50}}, {{"width", 150}, {"height", 100}}}));
}

TEST(IiifInfoJson, every_advertised_size_is_servable) {
  const ImageInfo info = slide();
  const auto j = info_json("https://example.org/iiif/s", info);  // named: a range-for over a temporary's member dangles
  for (const auto& s : j.at("sizes")) {
    const auto w = s.at("width").get<std::int64_t>(), h = s.at("height").get<std::int64_t>();
    const std::string size = std::to_string(w) + "," + std::to_string(h);
    const auto r = ok("full", size, info);
    expect_size(r, w, h);
    EXPECT_EQ(r.canonical(), "full/" + size + "/0/default.jpg");
  }
}

TEST(IiifInfoJson, every_advertised_tile_is_servable) {
  // Tile requests as the implementation notes build them, edges included (integer arithmetic).
  ImageInfo info = slide();
  info.width = 98301;  // not a multiple of any tile size, so every level has partial edge tiles
  info.height = 77315;
  const auto j = info_json("https://example.org/iiif/s", info);
  const auto& tile = j.at("tiles").at(0);
  const std::int64_t tw = tile.at("width"), th = tile.at("height");
  for (const std::int64_t s : tile.at("scaleFactors")) {
    const std::int64_t cols = (info.width + tw * s - 1) / (tw * s), rows = (info.height + th * s - 1) / (th * s);
    for (const std::int64_t n : {std::int64_t{0}, cols / 2, cols - 1}) {
      for (const std::int64_t m : {std::int64_t{0}, rows / 2, rows - 1}) {
        const std::int64_t xr = n * tw * s, yr = m * th * s;
        const std::int64_t wr = std::min(tw * s, info.width - xr), hr = std::min(th * s, info.height - yr);
        const std::int64_t ws = (wr + s - 1) / s, hs = (hr + s - 1) / s;
        const std::string region =
            std::to_string(xr) + "," + std::to_string(yr) + "," + std::to_string(wr) + "," + std::to_string(hr);
        const auto r = ok(region, std::to_string(ws) + "," + std::to_string(hs), info);
        expect_region(r, xr, yr, wr, hr);
        expect_size(r, ws, hs);
        // The w, form that viewers also use gives a size within a pixel of the tile.
        const auto by_width = ok(region, std::to_string(ws) + ",", info);
        EXPECT_NEAR(static_cast<double>(by_width.out_h), static_cast<double>(hs), 1.0) << region;
      }
    }
  }
}

}  // namespace
}  // namespace reread::iiif
