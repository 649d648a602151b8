"""Recognition engines: the cloud client and local engines share :class:`RecognitionEngine`."""
