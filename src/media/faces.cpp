// faces.cpp: the one C++ file of the tree: OpenCV's cascade face detector behind the C API
// of faces.h. No C++ type or exception crosses that header.
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <exception>
#include <vector>

#include <sys/stat.h>

extern "C" {
#include "base/error.h"
#include "media/faces.h"
}

struct om_face_detector {
    cv::CascadeClassifier cascade;
};

extern "C" int om_face_detector_open(om_face_detector **out, const char *cascade)
{
    *out = nullptr;
    const char *path = cascade ? cascade : OM_FACES_DEFAULT_CASCADE;
    struct stat st;
    if (stat(path, &st) != 0)
        return om_error_set(OM_ENOTFOUND,
                            "face cascade %s is missing (Debian's opencv-data package ships it)",
                            path);
    om_face_detector *d = nullptr;
    try {
        cv::setNumThreads(1);
        d = new om_face_detector();
        if (!d->cascade.load(path)) {
            delete d;
            return om_error_set(OM_EINVAL, "face cascade %s: OpenCV cannot load it", path);
        }
    } catch (const std::exception &ex) {
        delete d;
        return om_error_set(OM_EINVAL, "face cascade %s: %s", path, ex.what());
    }
    *out = d;
    return OM_OK;
}

extern "C" int om_face_detect(om_face_detector *d, const uint8_t *gray, int w, int h, int stride,
                              int min_size, om_face_box *out, size_t max, size_t *n_out)
{
    *n_out = 0;
    if (!d || !gray || w < 16 || h < 16 || w > 8192 || h > 8192 || stride < w || min_size < 0)
        return om_error_set(OM_EINVAL, "face detection: bad picture %dx%d (stride %d)", w, h,
                            stride);
    try {
        cv::Mat img(h, w, CV_8UC1, const_cast<uint8_t *>(gray), (size_t)stride);
        cv::Mat eq;
        cv::equalizeHist(img, eq);
        int ms = min_size > 0 ? min_size : std::max(20, std::min(w, h) / 14);
        std::vector<cv::Rect> found;
        std::vector<int> hits;
        d->cascade.detectMultiScale(eq, found, hits, 1.1, 3, 0, cv::Size(ms, ms));
        std::vector<size_t> order(found.size());
        for (size_t i = 0; i < order.size(); i++)
            order[i] = i;
        std::sort(order.begin(), order.end(),
                  [&](size_t a, size_t b) { return found[a].area() > found[b].area(); });
        size_t n = std::min(max, order.size());
        for (size_t k = 0; k < n; k++) {
            const cv::Rect &r = found[order[k]];
            out[k].x = (float)r.x;
            out[k].y = (float)r.y;
            out[k].w = (float)r.width;
            out[k].h = (float)r.height;
            out[k].score = order[k] < hits.size() ? (float)hits[order[k]] : 0.0f;
        }
        *n_out = n;
    } catch (const std::exception &ex) {
        return om_error_set(OM_ERROR, "face detection: %s", ex.what());
    }
    return OM_OK;
}

extern "C" void om_face_detector_free(om_face_detector *d)
{
    delete d;
}
