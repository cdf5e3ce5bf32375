extension Leaderboard {
    /// The results the RepLKNet README reports (FLOPs as multiply-accumulates: 224² / 384² / 320² for
    /// ImageNet, 2048×512 (1K) and 2560×640 (22K, MegData) for ADE20K, 2048×1024 for Cityscapes,
    /// 1280×800 for COCO).
    public static let paperRows: [LeaderboardRow] = {
        func cls(_ b: String, _ pre: String, _ res: Int, _ top1: Double, _ p: Double, _ f: Double, _ files: [String]) -> LeaderboardRow {
            LeaderboardRow(task: "classification", dataset: "imagenet", backbone: b, method: "—", pretraining: pre, setting: "paper",
                           metrics: ["top1": top1], params: p * 1e6, flops: (f * 10).rounded() * 1e8, source: "paper", date: "", isReference: true,
                           releasedAs: files, scale: "\(res)²", resolution: res)
        }
        func seg(_ b: String, _ pre: String, _ ds: String, _ ss: Double, _ ms: Double, _ p: Double, _ f: Double, _ files: [String]) -> LeaderboardRow {
            LeaderboardRow(task: "segmentation", dataset: ds, backbone: b, method: "UperNet", pretraining: pre, setting: "paper",
                           metrics: ["mIoU": ss, "mIoU_ms": ms], params: p * 1e6, flops: f * 1e9, source: "paper", date: "",
                           isReference: true, releasedAs: files,
                           scale: ds == "cityscapes" ? "2048×1024" : pre == "ImageNet-1K" ? "2048×512" : "2560×640")
        }
        func det(_ b: String, _ pre: String, _ method: String, _ box: Double, _ mask: Double?, _ p: Double, _ f: Double, _ files: [String]) -> LeaderboardRow {
            var m = ["box_AP": box]
            if let mask { m["mask_AP"] = mask }
            return LeaderboardRow(task: "detection", dataset: "coco", backbone: b, method: method, pretraining: pre, setting: "paper",
                                  metrics: m, params: p * 1e6, flops: f * 1e9, source: "paper", date: "", isReference: true,
                                  releasedAs: files, scale: "1333×800")
        }
        return [
            cls("RepLKNet-31B", "ImageNet-1K", 224, 83.5, 79, 15.3, ["RepLKNet-31B_ImageNet-1K_224.pth", "replknet-31B_3rdparty_in1k_20221118-fd08e268.pth"]),
            cls("RepLKNet-31B", "ImageNet-1K", 384, 84.8, 79, 45.1, ["replknet-31B_3rdparty_in1k-384px_20221118-03a170ce.pth"]),
            cls("RepLKNet-31B", "ImageNet-22K", 224, 85.2, 79, 15.3, ["replknet-31B_in21k-pre_3rdparty_in1k_20221118-54ed5c46.pth"]),
            cls("RepLKNet-31B", "ImageNet-22K", 384, 86.0, 79, 45.1, ["replknet-31B_in21k-pre_3rdparty_in1k-384px_20221118-76c92b24.pth"]),
            cls("RepLKNet-31L", "ImageNet-22K", 384, 86.6, 172, 96.0, ["RepLKNet-31L_ImageNet-22K-to-1K_384.pth", "replknet-31L_in21k-pre_3rdparty_in1k-384px_20221118-dc3fc07c.pth"]),
            cls("RepLKNet-XL", "MegData-73M", 320, 87.8, 335, 128.7, ["RepLKNet-XL_MegData73M_ImageNet1K.pth", "replknet-XL_meg73m-pre_3rdparty_in1k-320px_20221118-88259b1d.pth"]),
            seg("RepLKNet-31B", "ImageNet-1K", "cityscapes", 83.1, 83.5, 110, 2315, ["RepLKNet-31B_ImageNet-1K_UperNet_Cityscapes.pth"]),
            seg("RepLKNet-31B", "ImageNet-1K", "ade20k", 49.9, 50.6, 112, 1170, ["RepLKNet-31B_ImageNet-1K_UperNet_ADE20K.pth"]),
            seg("RepLKNet-31B", "ImageNet-22K", "ade20k", 51.5, 52.3, 112, 1829, ["RepLKNet-31B_ImageNet-22K_UperNet_ADE20K.pth"]),
            seg("RepLKNet-31L", "ImageNet-22K", "ade20k", 52.4, 52.7, 207, 2404, ["RepLKNet-31L_ImageNet-22K_UperNet_ADE20K.pth"]),
            seg("RepLKNet-XL", "MegData-73M", "ade20k", 55.2, 56.0, 374, 3431, ["RepLKNet-XL_MegData73M_UperNet_ADE20K.pth"]),
            det("RepLKNet-31B", "ImageNet-1K", "FCOS", 47.0, nil, 87, 437, []),
            det("RepLKNet-31B", "ImageNet-1K", "Cascade Mask R-CNN", 52.2, 45.2, 137, 965, ["RepLKNet-31B_ImageNet-1K_CascMaskRCNN_COCO.pth"]),
            det("RepLKNet-31B", "ImageNet-22K", "Cascade Mask R-CNN", 53.0, 46.0, 137, 965, ["RepLKNet-31B_ImageNet-22K_CascMaskRCNN_COCO.pth"]),
            det("RepLKNet-31L", "ImageNet-22K", "Cascade Mask R-CNN", 53.9, 46.5, 229, 1321, ["RepLKNet-31L_ImageNet-22K_CascMaskRCNN_COCO.pth"]),
            det("RepLKNet-XL", "MegData-73M", "Cascade Mask R-CNN", 55.5, 48.0, 392, 1958, ["RepLKNet-XL_MegData73M_CascMaskRCNN_COCO.pth"]),
        ]
    }()
}
