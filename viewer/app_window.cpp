// GLFW, an OpenGL 3.3 core context through libepoxy, and Dear ImGui's backends.
#include "app_window.h"

#include <epoxy/gl.h>
// epoxy before GLFW, so GLFW includes no GL header of its own.
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <stdexcept>

namespace reread::viewer {
namespace {

std::string& last_glfw_error() {
  static std::string error;
  return error;
}

void on_glfw_error(int code, const char* description) {
  last_glfw_error() = std::string(description ? description : "unknown") + " (GLFW error " + std::to_string(code) + ")";
}

}  // namespace

AppWindow::AppWindow(int width, int height, const std::string& title, bool vsync) {
  glfwSetErrorCallback(on_glfw_error);
  if (glfwInit() != GLFW_TRUE) {
    throw std::runtime_error("cannot open a window: " + last_glfw_error() +
                             " (no display? set DISPLAY, or run under xvfb-run for headless use)");
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  glfwWindowHint(GLFW_SRGB_CAPABLE, GLFW_TRUE);
  glfwWindowHint(GLFW_DOUBLEBUFFER, GLFW_TRUE);
  glfwWindowHint(GLFW_SCALE_TO_MONITOR, GLFW_FALSE);
  window_ = glfwCreateWindow(width, height, title.c_str(), nullptr, nullptr);
  if (window_ == nullptr) {
    const std::string why = last_glfw_error();
    glfwTerminate();
    throw std::runtime_error("cannot create an OpenGL 3.3 core window: " + why);
  }
  glfwMakeContextCurrent(window_);
  glfwSwapInterval(vsync ? 1 : 0);
  if (epoxy_gl_version() < 33) {
    const int version = epoxy_gl_version();
    glfwDestroyWindow(window_);
    glfwTerminate();
    throw std::runtime_error("OpenGL 3.3 is needed, the driver offers " + std::to_string(version / 10) + "." +
                             std::to_string(version % 10));
  }

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // nothing written beside the user's files
  ImGui::StyleColorsDark();
  ImGui::GetStyle().WindowRounding = 4.0f;
  imgui_glfw_ = ImGui_ImplGlfw_InitForOpenGL(window_, true);
  imgui_gl_ = ImGui_ImplOpenGL3_Init("#version 330 core");
  if (!imgui_glfw_ || !imgui_gl_) {
    shutdown();
    throw std::runtime_error("cannot start Dear ImGui's GLFW/OpenGL 3 backends");
  }
}

AppWindow::~AppWindow() { shutdown(); }

void AppWindow::shutdown() {
  if (imgui_gl_) ImGui_ImplOpenGL3_Shutdown();
  if (imgui_glfw_) ImGui_ImplGlfw_Shutdown();
  imgui_gl_ = imgui_glfw_ = false;
  if (ImGui::GetCurrentContext() != nullptr) ImGui::DestroyContext();
  if (window_ != nullptr) glfwDestroyWindow(window_);
  window_ = nullptr;
  glfwTerminate();
}

bool AppWindow::should_close() const { return glfwWindowShouldClose(window_) == GLFW_TRUE; }

void AppWindow::wait_events(double timeout_s) {
  if (timeout_s <= 0) {
    glfwPollEvents();
  } else {
    glfwWaitEventsTimeout(timeout_s);
  }
}

void AppWindow::wake() { glfwPostEmptyEvent(); }

void AppWindow::begin_ui_frame() {
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
}

void AppWindow::render_ui() {
  ImGui::Render();
  glDisable(GL_FRAMEBUFFER_SRGB);  // ImGui's colours are already sRGB-encoded
  glViewport(0, 0, framebuffer_width(), framebuffer_height());
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

void AppWindow::swap() { glfwSwapBuffers(window_); }

int AppWindow::framebuffer_width() const {
  int w = 0, h = 0;
  glfwGetFramebufferSize(window_, &w, &h);
  return w;
}

int AppWindow::framebuffer_height() const {
  int w = 0, h = 0;
  glfwGetFramebufferSize(window_, &w, &h);
  return h;
}

int AppWindow::width() const {
  int w = 0, h = 0;
  glfwGetWindowSize(window_, &w, &h);
  return w;
}

int AppWindow::height() const {
  int w = 0, h = 0;
  glfwGetWindowSize(window_, &w, &h);
  return h;
}

double AppWindow::pixel_ratio() const {
  const int w = width();
  return w > 0 ? static_cast<double>(framebuffer_width()) / w : 1.0;
}

std::string AppWindow::renderer() const {
  const auto* r = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
  const auto* v = reinterpret_cast<const char*>(glGetString(GL_VERSION));
  return std::string(r ? r : "?") + ", OpenGL " + (v ? v : "?");
}

bool AppWindow::take_tab_pressed() {
  return !ImGui::GetIO().WantTextInput && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Tab), false);
}

}  // namespace reread::viewer
