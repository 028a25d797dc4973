"""U-Net on a ResNet-18 encoder, as fastai's DynamicUnet colorizers build it (encoder swappable by name)."""

from torch import nn

from chromagen.models.registry import register_model
from chromagen.models.unet import EncoderUNet


@register_model("resnet-unet")
def resnet_unet(
    encoder: str = "resnet18",
    pretrained: bool = False,
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32),
) -> nn.Module:
    """U-Net on a ResNet-18 encoder (fastai DynamicUnet style); any registered encoder plugs in."""
    return EncoderUNet(encoder, pretrained, tuple(decoder_channels))
