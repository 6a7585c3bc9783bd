"""A task written for PsychRNN, unchanged except for its import line.

PsychRNN:   from psychrnn.tasks.task import Task
psychcore:  from psychcore import Task
"""

import numpy as np

from psychcore import Task


class Romo(Task):
    def __init__(self, dt, tau, T, N_batch):
        super(Romo, self).__init__(2, 2, dt, tau, T, N_batch)

    def generate_trial_params(self, batch, trial):
        params = dict()
        params["f1"] = np.random.choice([10, 14, 18, 22, 26, 30, 34])
        params["f2"] = np.random.choice([10, 14, 18, 22, 26, 30, 34])
        params["onset"] = np.random.random() * self.T / 4.0
        params["stim_noise"] = 0.1
        return params

    def trial_function(self, t, params):
        x_t = np.zeros(self.N_in)
        y_t = np.zeros(self.N_out)
        mask_t = np.zeros(self.N_out)
        if params["onset"] < t < params["onset"] + 200:
            x_t[0] += params["f1"] / 34.0
        if params["onset"] + 600 < t < params["onset"] + 800:
            x_t[1] += params["f2"] / 34.0
        x_t += np.sqrt(2 * self.alpha * params["stim_noise"] ** 2) * np.random.randn(self.N_in)
        if t > params["onset"] + 900:
            y_t[int(params["f1"] > params["f2"])] = 1.0
            mask_t = np.ones(self.N_out)
        return x_t, y_t, mask_t

    def accuracy_function(self, correct_output, test_output, output_mask):
        chosen = np.argmax(np.mean(test_output * output_mask, axis=1), axis=1)
        truth = np.argmax(np.mean(correct_output * output_mask, axis=1), axis=1)
        return np.mean(np.equal(truth, chosen))
