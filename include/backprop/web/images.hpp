// Small pictures for the pages: digits and first-layer weights as PNG data URIs.
#pragma once

#include <cstdint>
#include <string>

namespace backprop::web {

std::string base64(const std::string& bytes);

// "data:image/png;base64,..."
std::string png_data_uri(const std::string& png);

// A 28x28 digit (bytes 0..255, or floats 0..1) as a grayscale PNG data URI.
std::string digit_data_uri(const std::uint8_t* pixels);
std::string digit_data_uri(const float* pixels);

// One hidden unit's 784 input weights as a 28x28 RGB PNG data URI: negative blue, zero
// white, positive red, full colour at |w| = scale.
std::string weights_data_uri(const float* weights, int stride, float scale);

}  // namespace backprop::web
