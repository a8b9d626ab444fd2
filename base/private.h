// Guard included by every internal header: internals compile only inside larder's own build.
#pragma once

#ifndef LARDER_INTERNAL
#error "This is an internal larder header. Applications include <larder/...> public headers only."
#endif
