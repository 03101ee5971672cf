#version 330 core
// The class colour as given (sRGB): outlines are drawn with the framebuffer's sRGB encoding off, so the
// colour on screen is the one the class list names.
in vec4 line_color;
out vec4 fragment;

void main() { fragment = line_color; }
