"""Faces: photo decoding and quality gates, encrypted enrollment with a terminal-ready photo,
duplicate-identity review, 1:N index, 1:1 verification of selfies and punch photos, and
mobile (selfie + GPS) punches. face_recognition (dlib, HOG model) does detection and
encodings; its models come from the face_recognition_models package, nothing is downloaded.
"""
