"""Dataset registry: the offline stand-in, and the documented error for missing real data."""
import pytest
import torch

from bench.data import DatasetNotFound, dataset_spec, load_dataset
from bench.data.offline import TEST_SIZE, _digits, _split_indices


def test_stand_in_matches_the_shape_of_the_dataset_it_replaces():
    spec = dataset_spec("digits_as_cifar10")
    assert spec.stand_in_for == "cifar10" and spec.shape == dataset_spec("cifar10").shape
    test = load_dataset("digits_as_cifar10", "test")
    x, y = test.tensors
    assert x.shape == (TEST_SIZE, 3, 32, 32) and 0 <= x.min() and x.max() <= 1
    assert set(y.tolist()) == set(range(10))
    assert torch.equal(x[:, 0], x[:, 2])  # channel-replicated grey images


def test_the_digits_are_scikit_learns_read_without_importing_it():
    from sklearn.datasets import load_digits

    images, labels = _digits()
    bunch = load_digits()
    assert (images == bunch.images).all() and (labels == bunch.target).all()


def test_offline_split_is_fixed_and_disjoint():
    train_idx, test_idx = _split_indices()
    assert len(set(train_idx) & set(test_idx)) == 0 and len(train_idx) + len(test_idx) == 1797
    assert torch.equal(load_dataset("digits", "train").tensors[0], load_dataset("digits", "train").tensors[0])


@pytest.mark.parametrize("name, hint", [("cifar10", "allow_download"), ("mnist", "allow_download"),
                                        ("imagenet", "ILSVRC2012_img_val.tar"),
                                        ("tinyimagenet", "tiny-imagenet-200.zip")])
def test_missing_dataset_error_names_the_folder_and_how_to_get_it(tmp_path, name, hint):
    with pytest.raises(DatasetNotFound) as info:
        load_dataset(name, "test", root=tmp_path)
    message = str(info.value)
    assert str(tmp_path / name) in message and hint in message and "scale=smoke" in message


def test_unknown_dataset_and_split_are_refused():
    with pytest.raises(KeyError, match="cifar100"):
        load_dataset("cifar100", "test")
    with pytest.raises(ValueError, match="split"):
        load_dataset("digits", "validation")


def test_augmentations_are_the_papers_recipes_and_the_test_split_never_augments():
    from PIL import Image
    from torchvision import transforms as T

    from bench.data.augment import augmentation
    cohen, shi = augmentation("crop4_flip", (3, 32, 32)), augmentation("flip_crop2_edge", (3, 32, 32))
    assert [type(t) for t in cohen] == [T.RandomCrop, T.RandomHorizontalFlip]
    assert (cohen[0].padding, cohen[0].padding_mode) == (4, "constant")
    assert [type(t) for t in shi] == [T.RandomHorizontalFlip, T.RandomCrop]
    assert (shi[1].padding, shi[1].padding_mode) == (2, "edge")
    image = Image.new("RGB", (32, 32), (255, 255, 255))  # a white image stays white under edge padding only
    torch.manual_seed(0)
    crops = [T.ToTensor()(T.Compose(shi)(image)).min() for _ in range(20)]
    assert min(crops) == 1.0
    with pytest.raises(ValueError, match="mixup"):
        augmentation("mixup", (3, 32, 32))
    with pytest.raises(ValueError, match="takes no augmentation"):
        load_dataset("digits", "train", augment="crop4_flip")
    assert len(load_dataset("digits", "test", augment="crop4_flip")) == TEST_SIZE  # test split: never augmented


def test_imagenet_as_an_image_folder_loads_with_classes_in_wnid_order(tmp_path):
    from PIL import Image

    for split in ("train", "val"):
        for wnid, shade in (("n01440764", 40), ("n01443537", 200)):
            folder = tmp_path / "imagenet" / split / wnid
            folder.mkdir(parents=True)
            Image.new("RGB", (300, 260), (shade,) * 3).save(folder / f"{wnid}_0.JPEG")
    test = load_dataset("imagenet", "test", root=tmp_path)
    (x0, y0), (x1, y1) = test[0], test[1]
    assert x0.shape == (3, 224, 224) and (y0, y1) == (0, 1)
    assert float(x0.mean()) < 0.3 < 0.7 < float(x1.mean())
    train = load_dataset("imagenet", "train", root=tmp_path, augment="resized_crop_flip")
    assert train[0][0].shape == (3, 224, 224)


def _tiny_imagenet_archive(root, arranged: bool):
    """A two-class Tiny ImageNet laid out as its zip unpacks (val/images + val_annotations.txt) or re-arranged."""
    from PIL import Image

    base = root / "tinyimagenet" / "tiny-imagenet-200"
    for wnid, shade in (("n01443537", 200), ("n01629819", 40)):  # sorted: labels 0 and 1
        (base / "train" / wnid / "images").mkdir(parents=True)
        Image.new("RGB", (64, 64), (shade,) * 3).save(base / "train" / wnid / "images" / f"{wnid}_0.JPEG")
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text(f"{wnid}_0.JPEG\t0\t0\t63\t63\n")
    images = [("val_0.JPEG", "n01629819", 40), ("val_1.JPEG", "n01443537", 200)]
    for name, wnid, shade in images:
        folder = base / "val" / (f"{wnid}/images" if arranged else "images")
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 64), (shade,) * 3).save(folder / name)
    if not arranged:
        (base / "val" / "val_annotations.txt").write_text(
            "".join(f"{name}\t{wnid}\t0\t0\t63\t63\n" for name, wnid, _ in images))
    return base


@pytest.mark.parametrize("arranged", [False, True])
def test_tiny_imagenet_reads_its_archives_layout_and_the_rearranged_one_with_the_same_labels(tmp_path, arranged):
    _tiny_imagenet_archive(tmp_path, arranged)
    train, test = (load_dataset("tinyimagenet", split, root=tmp_path) for split in ("train", "test"))
    assert len(train) == 2 and [y for _, y in train] == [0, 1]
    labels = {round(float(x.mean()) * 255): y for x, y in test}  # shade -> label, whatever the file order
    assert len(test) == 2 and labels == {200: 0, 40: 1} and test[0][0].shape == (3, 64, 64)


def test_tiny_imagenet_with_a_val_class_train_lacks_is_refused_by_name(tmp_path):
    base = _tiny_imagenet_archive(tmp_path, arranged=False)
    (base / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn09999999\t0\t0\t63\t63\n")
    with pytest.raises(DatasetNotFound, match="n09999999"):
        load_dataset("tinyimagenet", "test", root=tmp_path)
