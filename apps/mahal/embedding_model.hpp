// A learned embedding read from a model file, whatever its kind: a metric ("metric": x ↦ L·x)
// or a network ("siamese": x ↦ G_W(x)), each with the standardisation it was trained with.
// Subcommands that only need the map (transform, verify) load models through this.
#pragma once

#include <functional>
#include <string>

#include "cli.hpp"
#include "mahal/matrix.hpp"

namespace mahal::cli {

struct embedding_model {
  std::string kind;        // "metric" or "siamese"
  index_t input_dim = 0;   // features of the raw data
  index_t output_dim = 0;  // dimension of the embedding
  // Raw data (input_dim×n) → embedding (output_dim×n), standardised first when the model is.
  std::function<matrix<double>(const matrix<double>&)> embed;
};

// Dispatches on the file's kind; networks run on `backend_name` (cpu | gpu) in the scalar type
// they were trained in. Throws io_error for other kinds and for damaged files.
embedding_model load_embedding_model(const std::string& path, const std::string& backend_name);

// The Euclidean metric on the raw features (kind "euclidean"), or on features z-scored with the
// statistics of `reference` (d×n) when `standardize`.
embedding_model euclidean_model(const matrix<double>& reference, bool standardize);

}  // namespace mahal::cli
