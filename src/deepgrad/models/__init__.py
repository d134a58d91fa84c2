"""The lectures' models, from the perceptron to ResNet, and a registry of them by name."""
from .classic import McCullochPitts, Perceptron, PerceptronFit
from .mlp import MLP, LinearSVM, LogisticRegression, SoftmaxRegression
from .registry import get_model, list_models, model_info, register_model
from .lenet import LeNet5, lenet5, lenet5_mnist, lenet5_relu
from .mnist_cnn import MnistCNN, mnist_cnn, mnist_cnn_best
from .alexnet import AlexNet, alexnet, alexnet_lecture, zfnet
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn
from .resnet import (BasicBlock, Bottleneck, ResNet, SqueezeExcitation, resnet18, resnet34, resnet50, resnet101,
                     resnet152, se_resnet18, se_resnet50)
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet, googlenet_loss
from .unet import FCN, UNet, fcn_head, fcn_resnet18, unet
from .c3d import C3D, c3d, c3d_small
from .cifar import (CifarResNet, CifarVGG, cifar_resnet20, cifar_resnet32, cifar_resnet44, cifar_resnet56,
                    cifar_resnet110, cifar_vgg)
from .gpt import GPT, CausalSelfAttention, GPTBlock, Seq2SeqTransformer, gpt_char_small
from .rnn import CharRNN, SequenceClassifier, gru_rows, lstm_rows, rnn_rows
from .autoencoder import VAE, Autoencoder, ConvAutoencoder, vae_loss
from .gan import (DCDiscriminator, DCGenerator, Discriminator, Generator, discriminator_step, gan_train_round,
                  gan_train_step, generator_step)
from .dqn import DQN, ReplayBuffer, dqn_train_step, epsilon_greedy, linear_epsilon, update_target
