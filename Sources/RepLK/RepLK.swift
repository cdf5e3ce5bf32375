// One import for the user-facing API: `import RepLK`.
//
// - Checkpoints and models: `Checkpoint`, `RepLKNetConfig`, `RepLKNet` (RepLKNetWeights/Backbone),
//   `Classifier`, `Segmenter` with `SegmentationPipeline`, `CascadeMaskRCNN` with `DetectionPipeline`.
// - Tensors and engine settings: `Tensor`, `EngineConfiguration` (threads, `Precision`,
//   `DepthwiseAlgorithm`, Winograd), `ThreadPool`, `FLOPCounter`.
// - Images: `Image` (JPEG/PNG decode and encode, resizes, drawing).
// - Datasets and evaluators: the ImageNet-folder, ADE20K, Cityscapes and COCO readers, `TopKAccuracy`,
//   `SegmentationMetric`, `COCOEvaluator`, `RLE`.
//
// Finer products exist for a smaller graph: RepLKEval (evaluators and COCO formats alone, a
// pure-Swift pycocotools), RepLKDatasets, RepLKImaging, RepLKWeights.
@_exported import RepLKBackbone
@_exported import RepLKClassification
@_exported import RepLKDatasets
@_exported import RepLKDetection
@_exported import RepLKEngine
@_exported import RepLKERF
@_exported import RepLKEval
@_exported import RepLKImaging
@_exported import RepLKSegmentation
@_exported import RepLKWeights
