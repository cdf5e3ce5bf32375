"""Writes gt.json and dets.json in the current folder: a synthetic COCO case of 5000 images with
1-15 boxes each (2 % crowds) and 100 detections per image (half near a ground-truth box, 20 % of
those with another class), for `replk-bench coco-eval --gt gt.json --results dets.json --peers PY`.
Deterministic (seed 0)."""
import json, random
random.seed(0)
cats=[{"id":i+1,"name":"c%d"%i} for i in range(80)]
images=[]; anns=[]; dets=[]; aid=1
for im in range(1,5001):
    W,H=random.randint(400,640),random.randint(300,480)
    images.append({"id":im,"width":W,"height":H,"file_name":"%012d.jpg"%im})
    gts=[]
    for _ in range(random.randint(1,15)):
        w=random.uniform(4,W/2); h=random.uniform(4,H/2); x=random.uniform(0,W-w); y=random.uniform(0,H-h)
        c=random.randint(1,80)
        anns.append({"id":aid,"image_id":im,"category_id":c,"bbox":[x,y,w,h],"area":w*h,"iscrowd":1 if random.random()<0.02 else 0}); aid+=1
        gts.append((x,y,w,h,c))
    for _ in range(100):
        if gts and random.random()<0.5:
            x,y,w,h,c=random.choice(gts); x+=random.gauss(0,w*0.1); y+=random.gauss(0,h*0.1); w*=random.uniform(0.8,1.2); h*=random.uniform(0.8,1.2)
            if random.random()<0.2: c=random.randint(1,80)
        else:
            w=random.uniform(4,W/2); h=random.uniform(4,H/2); x=random.uniform(0,W-w); y=random.uniform(0,H-h); c=random.randint(1,80)
        dets.append({"image_id":im,"category_id":c,"bbox":[round(x,2),round(y,2),round(w,2),round(h,2)],"score":round(random.random(),4)})
json.dump({"images":images,"annotations":anns,"categories":cats},open("gt.json","w"))
json.dump(dets,open("dets.json","w"))
print(len(anns),len(dets))
