/*
 * faces.h: frontal face detection on a grey picture, for the speaker-following crop
 * (media/facetrack.h). The implementation (faces.cpp) is the tree's one C++ file: OpenCV's
 * cascade classifier with the cascades Debian's opencv-data ships (no model is fetched at
 * run time). Everything above this header is C.
 *
 * om_face_detector_open() loads the cascade: `cascade` is a path to an OpenCV cascade XML,
 * or NULL for OM_FACES_DEFAULT_CASCADE. Errors: OM_ENOTFOUND when the file is not there (the
 * message says to install opencv-data), OM_EINVAL when OpenCV cannot parse it.
 *
 * om_face_detect() finds faces on one 8-bit grey picture of w x h pixels (rows `stride`
 * bytes apart, stride >= w; 16 <= w, h <= 8192). At most `max` boxes are written to out
 * (largest first), *n_out says how many. A box is in pixels of that picture; `score` is the
 * number of neighbouring detections that merged into it (>= min_neighbors; higher is
 * surer). Faces smaller than min_size pixels (0: 1/14 of the shorter side, at least 20)
 * are not looked for. Errors: OM_EINVAL for bad sizes, OM_ERROR when OpenCV throws (its
 * words in the message). Nothing is kept between calls but the loaded cascade.
 *
 * Ownership: the detector is the caller's, released with om_face_detector_free (NULL is
 * fine). Thread safety: one detector per thread (OpenCV's classifier is not re-entrant);
 * OpenCV's own thread pool is limited to one thread by om_face_detector_open, so a worker
 * with --concurrency N uses N cores, not N x cores.
 */
#ifndef OMNIVA_MEDIA_FACES_H
#define OMNIVA_MEDIA_FACES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OM_FACES_CASCADE_DIR "/usr/share/opencv4/haarcascades"
#define OM_FACES_DEFAULT_CASCADE OM_FACES_CASCADE_DIR "/haarcascade_frontalface_alt2.xml"

typedef struct om_face_box {
    float x, y, w, h; /* top-left corner and size, pixels of the analysed picture */
    float score;      /* merged neighbour detections */
} om_face_box;

typedef struct om_face_detector om_face_detector;

int om_face_detector_open(om_face_detector **out, const char *cascade);
int om_face_detect(om_face_detector *d, const uint8_t *gray, int w, int h, int stride,
                   int min_size, om_face_box *out, size_t max, size_t *n_out);
void om_face_detector_free(om_face_detector *d);

#ifdef __cplusplus
}
#endif

#endif
